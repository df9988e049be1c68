"""Running things: one agent in one scored episode (`runner`), the same agent with and without a
fault profile (`paired`), the agent's environment (`agent_env`), the embedded sandbox and its
children (`supervisor`), a fake in gunicorn (`serve`) and where any of them may listen (`bind`)."""
