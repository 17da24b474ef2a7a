"""Blueprint stub for the plan-conflict report (issue 7 fills it)."""

from flask import Blueprint

bp = Blueprint("conflicts", __name__)
