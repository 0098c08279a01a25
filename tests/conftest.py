import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile(
    "fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Divergences are not a chance quantity: a well-behaved posterior gives none or a
# stray few depending on the machine's floating point; a bad geometry gives many.
MAX_DIVERGENT_FRACTION = 0.01

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
