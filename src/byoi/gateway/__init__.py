"""The way in to apps: presigned URLs, sessions, and the authenticated proxy."""
