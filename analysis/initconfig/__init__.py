"""`python -m analysis init-config`: a starting configuration for a user's panel, its column
mappings guessed from the header (command), the synonyms table that names the study's roles
in other words (synonyms), the year and unit key (keys), the other columns' roles (guess)
and the commented TOML it writes (text)."""
