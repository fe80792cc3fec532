"""The web front end: the conversation in any browser, shared results, the Telegram Mini App."""
