"""Accounts: sign-in rules that sit around Django's auth (docs/security.md, "Accounts").

Password rules are Django's validators (settings); lockout after repeated failures is django-axes;
the second factor is a TOTP app (django-otp), required by ``permissions.must_use_two_factor`` and
enforced for every page and session-authenticated API call by ``middleware.TwoFactorMiddleware``;
API tokens are django-rest-knox's (hashed at rest, with an expiry), issued and revoked here.
"""
