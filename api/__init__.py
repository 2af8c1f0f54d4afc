"""Herald's ASGI application: settings, app factory, auth, routes and the CLI."""
