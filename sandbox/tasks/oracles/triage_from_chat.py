"""Oracle for `triage-from-chat`: read the triage thread in #engineering, then label and assign
each GitHub issue it names, and answer in the thread.

The thread's replies say "#8 (title) is a *bug*, assign it to <@U...>"; the Slack user's real name
is matched to an organisation member's GitHub name, because chat and code share the same people.
"""

from __future__ import annotations

import re

from sandbox.tasks.oracles.clients import channel_id, github, give_up, slack

LINE = re.compile(r"#(\d+) \(.*?\) is an? \*([\w-]+)\*, assign it to <@(U\w+)>")


def main() -> None:
    chat = slack()
    engineering = channel_id(chat, "engineering")
    history = chat.conversations_history(channel=engineering, limit=200)
    root = next((m for m in history["messages"] if m.get("text", "").startswith("Triage for ")), None)
    if root is None:
        give_up("no triage thread in #engineering")
    repo_name = re.search(r"Triage for ([\w.-]+/[\w.-]+)", root["text"]).group(1)
    replies = chat.conversations_replies(channel=engineering, ts=root["ts"])["messages"]
    plan = [LINE.search(m.get("text", "")) for m in replies]
    plan = [m.groups() for m in plan if m]
    if not plan:
        give_up("the triage thread has no instructions")

    gh = github()
    org_login, _, name = repo_name.partition("/")
    members = {(member.name or "").lower(): member.login for member in gh.get_organization(org_login).get_members()}
    repo = gh.get_repo(repo_name)
    done = []
    for number, label, user_id in plan:
        real_name = chat.users_info(user=user_id)["user"]["real_name"]
        login = members.get(real_name.lower())
        if login is None:
            give_up(f"{real_name} is not a member of {org_login} on GitHub")
        issue = repo.get_issue(int(number))
        issue.add_to_labels(label)
        issue.add_to_assignees(login)
        done.append(f"#{number} → {label}, @{login}")
    chat.chat_postMessage(channel=engineering, thread_ts=root["ts"], text="Done: " + "; ".join(done))
    print("triaged", ", ".join(done))


if __name__ == "__main__":
    main()
