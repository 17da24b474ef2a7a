"""Blueprint stub: replaced by the owner of this module."""

from flask import Blueprint

bp = Blueprint("exports", __name__)
