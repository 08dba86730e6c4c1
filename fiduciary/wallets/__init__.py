"""Wallet balance rules over snapshots (pure). The store applies them and the schema re-checks them."""

from fiduciary.wallets.balance import Wallet, can_hold, capture, credit, hold, release

__all__ = ["Wallet", "can_hold", "capture", "credit", "hold", "release"]
