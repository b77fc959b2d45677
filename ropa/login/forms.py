"""The forms of the two-factor pages: each asks for one code."""

from django import forms

CODE_HELP = "The 6 digits your authenticator app shows, or one of your recovery codes."
WRONG_CODE = (
    "This code is not right. Codes change every 30 seconds: check the app's "
    "clock and try the current one. A recovery code works only once."
)
WRONG_SETUP_CODE = (
    "This is not the code of this set-up. Scan the QR code again (or type the "
    "secret), then enter the 6 digits your app shows now."
)


class CodeForm(forms.Form):
    """A code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text=CODE_HELP,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )

    def __init__(self, *args, autofocus=True, **kwargs):
        super().__init__(*args, **kwargs)
        # The code step's only field has the focus; the "turn off" form on a
        # page of its own does not take it.
        if autofocus:
            self.fields["code"].widget.attrs["autofocus"] = True


class SetupCodeForm(forms.Form):
    """The app's code that confirms the set-up."""

    code = forms.CharField(
        label="Code from your app",
        max_length=10,
        help_text="The 6 digits your authenticator app shows for this account.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
            }
        ),
    )
