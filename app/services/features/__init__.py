"""Neighbourhoods, assets, needs, resources and links: create, read, update, delete, review, revert, restore.

kinds: what differs between the kinds; read: lists and items; assign: bodies applied to items; write: create,
update, delete, review; versions: history, revert, restore.
"""

from app.services.features.kinds import KINDS, Kind, describe
from app.services.features.read import Page, get_item, list_items, shape_item
from app.services.features.versions import item_history, restore_item, revert_item
from app.services.features.write import create_item, delete_item, review_item, update_item, write_then_read

__all__ = [
    "KINDS",
    "Kind",
    "Page",
    "create_item",
    "delete_item",
    "describe",
    "get_item",
    "item_history",
    "list_items",
    "restore_item",
    "revert_item",
    "review_item",
    "shape_item",
    "update_item",
    "write_then_read",
]
