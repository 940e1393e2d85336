from . import permissions


def roles(request):
    """The signed-in user's roles, so templates show only the menus that lead somewhere."""
    user_roles = permissions.roles_of(request.user)
    return {"user_roles": user_roles, "is_admin_user": permissions.ADMIN in user_roles}
