"""A small CSV reader that meets a bad row: the failure's traceback goes through it."""


class BadRow(ValueError):
    code = "E_BAD_ROW"


def check_row(file, number, columns):
    if len(columns) != 5:
        raise BadRow(f"{file}: row {number} has {len(columns)} columns, expected 5")
    return columns
