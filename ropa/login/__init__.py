"""
The way into the admin: the two-factor login, the lockout of password
guessing, and the rules a new password must pass.

- ``two_factor``: who must use a second factor, and the writes that set it
  up, renew its recovery codes, turn it off or reset it.
- ``middleware`` and ``site``: no admin page but the two-factor pages until
  the code is given.
- ``views``, ``forms``, ``urls``: the code step, the set-up and the user's
  own "Two-factor authentication" page.
- ``lockout``: django-axes' handler with a lock on the username as well.
- ``passwords``: the password validators of our own.
"""
