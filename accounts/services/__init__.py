"""Account writes, one module per concept. Views, the admin, commands and jobs call them as
`services.<module>.<function>`; every write of the accounts app goes through one of them."""

from accounts.services import (  # noqa: F401  (attributes of the package)
    account,
    api_tokens,
    sessions,
    signin,
    staff,
    two_factor,
)
