from django import forms


class FollowForm(forms.Form):
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"

    # An explicit action rather than a toggle, so a double click follows once.
    action = forms.ChoiceField(choices=[(FOLLOW, "Follow"), (UNFOLLOW, "Unfollow")])
