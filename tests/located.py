"""A case that breaks one rule: both readers give exactly that problem, located."""

import copy

import pytest

from credence import CaseError
from credence.case import validate_case
from credence.io import case_from_dict


def assert_one_problem(data, message, loc, item):
    """Reading ``data`` (as a file would be, and as Python objects) gives one problem.

    ``item`` is how the location names the item at ``loc[:2]``, e.g.
    ``"groups[0] (id g)"``; the rest of ``loc`` follows it.
    """
    rest = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc[2:])
    for read in (case_from_dict, validate_case):
        with pytest.raises(CaseError) as info:
            read(copy.deepcopy(data))
        problems = info.value.problems
        assert [p.message for p in problems] == [message]
        (problem,) = problems
        assert problem.loc == loc
        assert problem.location == f"{item}{rest}"
