"""What people read, in the CLI and in Telegram: heat, timeline, replies, charts."""
