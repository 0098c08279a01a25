"""A fact-checker's sheet of four claims and four sources, one claim resolved (false)."""

import pandas as pd

SHEET = pd.DataFrame(
    [("troops", "nis", "true"), ("troops", "pentagon", "true"), ("troops", "kremlin", "false"),
     ("dam", "nis", "false"), ("dam", "pentagon", "true"), ("dam", "kremlin", "false"),
     ("dam", "daily-wire", "true"), ("grain", "pentagon", "true"), ("grain", "kremlin", "true"),
     ("grain", "daily-wire", "false"), ("ceasefire", "kremlin", "true"),
     ("ceasefire", "nis", "false"), ("ceasefire", "daily-wire", "true"),
     ("ceasefire", "pentagon", "false")],
    columns=["claim", "source", "label"],
)
