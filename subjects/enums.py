from django.db import models


class Sensitivity(models.TextChoices):
    ORDINARY = "ordinary", "Ordinary personal data"
    SPECIAL = "special", "Special category (Art. 9)"
    CRIMINAL = "criminal", "Criminal convictions and offences (Art. 10)"
    NATIONAL_ID = "national_id", "National identification number (Art. 87)"


class SpecialCategory(models.TextChoices):
    """The special categories of personal data listed in Art. 9(1)."""

    RACIAL_ETHNIC = "racial_ethnic", "Racial or ethnic origin"
    POLITICAL = "political", "Political opinions"
    RELIGIOUS = "religious", "Religious or philosophical beliefs"
    TRADE_UNION = "trade_union", "Trade union membership"
    GENETIC = "genetic", "Genetic data"
    BIOMETRIC = "biometric", "Biometric data for unique identification"
    HEALTH = "health", "Data concerning health"
    SEX_LIFE = "sex_life", "Sex life or sexual orientation"
