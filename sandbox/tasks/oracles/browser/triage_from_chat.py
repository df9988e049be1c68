"""Browser oracle for `triage-from-chat`: read the triage thread in #engineering in the Slack client,
label and assign each GitHub issue it names on github.com (the Slack user's real name matched to an
organisation member's name), and answer in the thread."""

from __future__ import annotations

import os
import re

from sandbox.tasks.oracles.browser import github, slack
from sandbox.tasks.oracles.browser.session import browser_page
from sandbox.tasks.oracles.browser.signin import sign_in
from sandbox.tasks.oracles.clients import give_up
from sandbox.tasks.oracles.triage_from_chat import LINE


def main() -> None:
    with browser_page() as page:
        # Everything from Slack first (the thread, who each <@U...> is), then GitHub, then back to
        # the thread: the Slack page objects work on the client's pages.
        team = slack.sign_in(page, os.environ["SLACK_BOT_TOKEN"])
        engineering = slack.channel_id(page, "engineering")
        root = next((m for m in slack.history(page, engineering) if m["text"].startswith("Triage for ")), None)
        if root is None:
            give_up("no triage thread in #engineering")
        repo_name = re.search(r"Triage for ([\w.-]+/[\w.-]+)", root["text"]).group(1)
        plan = [LINE.search(m["text"]) for m in slack.replies(page, engineering, root["ts"])[1:]]
        plan = [m.groups() for m in plan if m]
        if not plan:
            give_up("the triage thread has no instructions")
        real_names = {user_id: slack.user(page, user_id)["real_name"] for _, _, user_id in plan}

        sign_in(page, "code")
        org, _, repo = repo_name.partition("/")
        members = {(m["name"] or "").lower(): m["login"] for m in github.members(page, org)}
        done = []
        for number, label, user_id in plan:
            login = members.get(real_names[user_id].lower())
            if login is None:
                give_up(f"{real_names[user_id]} is not a member of {org} on GitHub")
            github.add_labels(page, org, repo, int(number), [label])
            github.add_assignees(page, org, repo, int(number), [login])
            done.append(f"#{number} → {label}, @{login}")
        slack.visit(page, f"{slack.WEB}/client/{team}/{engineering}")
        slack.post_message(page, engineering, "Done: " + "; ".join(done), thread_ts=root["ts"])
    print("triaged", ", ".join(done), "through the web pages")


if __name__ == "__main__":
    main()
