"""The local shell: MAP bot on your terminal, Slack stood in on loopback."""
