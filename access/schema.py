"""OpenAPI: our token authentication is documented like DRF's was ("tokenAuth").

drf-spectacular's knox extension matches knox's class exactly, not subclasses.
Imported in ``AccessConfig.ready`` so the extension is registered.
"""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme


class ApiTokenScheme(KnoxTokenScheme):  # type: ignore[no-untyped-call]  # registers itself
    target_class = "access.authentication.TokenAuthentication"
    name = "tokenAuth"
