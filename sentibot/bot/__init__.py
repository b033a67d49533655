"""The Telegram bot: commands, handlers, the Application lifecycle and its watchdog."""
