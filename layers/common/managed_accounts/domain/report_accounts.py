"""The account every client view starts from, and the labels of its approved destinations."""

from __future__ import annotations

from managed_accounts.domain.addresses import address_key
from managed_accounts.domain.models import Account, validate_client_id
from managed_accounts.domain.ports import AccountsRepository
from managed_accounts.domain.report_models import AccountNotFound
from managed_accounts.errors import AccountNotReady


def client_account(accounts: AccountsRepository, client_id: str) -> Account:
    """The caller's active account: 404 ``account_not_found`` before onboarding, 409 while it is set up."""
    account = accounts.get_account(validate_client_id(client_id))
    if account is None:
        raise AccountNotFound("no account yet: POST /accounts first")
    if account.status != "active" or not account.wallet_id:
        raise AccountNotReady("the account is still being set up; retry POST /accounts")
    return account


class DestinationLabels:
    """Approved destinations by address (as Dfns compares addresses), for labelling counterparties."""

    def __init__(self, accounts: AccountsRepository, account: Account) -> None:
        self._network = account.network
        self._labels = {
            address_key(account.network, d.address): d.label
            for d in accounts.list_destinations(account.client_id)
        }

    def is_approved(self, address: str | None) -> bool:
        return address is not None and address_key(self._network, address) in self._labels

    def label(self, address: str | None) -> str | None:
        return self._labels.get(address_key(self._network, address)) if address else None
