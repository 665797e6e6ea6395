"""`python -m analysis init-config`: a starting configuration for a user's panel (command).

The synonyms table names the study's roles in other words (synonyms); the time column and
unit key are found first (keys), the table is then read as a panel of whole units (view);
the treatment is found from the data (treatment), the other columns profiled (profile) and,
on a Chinese city panel, mapped by name with the study's lists the inputs build (guess,
study). The proposal is written as commented TOML (text, settings, comments) and summed up
on the terminal (summary)."""
