from . import permissions


class _Menus:
    """``{{ menus.main }}``, ``{{ menus.home }}``, ``{{ menus.courtwatch }}``: each built on first use."""

    def __init__(self, user):
        self._user = user
        self._built: dict[str, list] = {}

    def __getitem__(self, menu: str) -> list:
        if menu not in self._built:
            self._built[menu] = permissions.menu_for(self._user, menu)
        return self._built[menu]


def menus(request):
    """The menus the signed-in user sees, as the access layer lists them: templates name no role."""
    return {"menus": _Menus(request.user)}
