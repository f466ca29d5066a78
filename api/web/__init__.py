"""Server-rendered pages: the coach's dashboard under /app/ and the athletes' check-in links.

Kept import-light: api.plans reads api.web.signing for the feed's links, so the routes live in
api.web.routes.
"""
