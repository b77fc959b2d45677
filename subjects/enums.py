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


class CnilGroup(models.TextChoices):
    """
    The groups of personal data in the CNIL's model register, in its order;
    each label is the group's heading there, in French as the register shows
    it. Special categories, criminal data and the national identifier are
    the model's "données sensibles", told by ``Sensitivity``, not by a group.
    """

    IDENTITY = (
        "identity",
        "État civil, identité, données d'identification, images",
    )
    PERSONAL_LIFE = (
        "personal_life",
        "Vie personnelle (habitudes de vie, situation familiale, etc.)",
    )
    PROFESSIONAL_LIFE = (
        "professional_life",
        "Vie professionnelle (CV, scolarité, formation professionnelle, "
        "distinctions, etc.)",
    )
    ECONOMIC = (
        "economic",
        "Informations d'ordre économique et financier (revenus, situation "
        "financière, situation fiscale, etc.)",
    )
    CONNECTION = (
        "connection",
        "Données de connexion (adresse IP, logs, identifiants des terminaux, "
        "identifiants de connexion, informations d'horodatage, etc.)",
    )
    LOCATION = (
        "location",
        "Données de localisation (déplacements, données GPS, GSM, etc.)",
    )
