"""Shared by every opsflows Lambda: lazy AWS clients, AWS errors as named exceptions, the handler adapter."""
