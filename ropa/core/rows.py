"""What an import does with a row of its file, in the words both imports use."""

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
DELETED = "deleted"
INVALID = "invalid"
ACTIONS = (NEW, CHANGED, UNCHANGED, DELETED, INVALID)
