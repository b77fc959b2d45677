"""
The register of one controller in the layout of the CNIL's model register
("registre des activités de traitement"), in French.

Sheet "Registre": the title naming the controller, when the register was
exported (and, as of a past day, which day it shows), then the controller's
block as the model has it: "Responsable du traitement", "Délégué à la
protection des données" and, where there is one, "Représentant", each a
heading row then Nom, Adresse, Adresse de messagerie and Téléphone down
(label in column A, value in column B); then the table of the activities
(référence, nom du traitement, dates de création et de dernière mise à jour,
statut) under its heading ``ACTIVITY_TABLE``.

Sheet "Fiches": the model's fiche of each activity, one activity per row.
Row 1 holds the fiche's sections ("Description du traitement", "Acteurs",
"Finalité(s) du traitement effectué"…) above the first of their columns, row
2 the column headings (``FICHE_SECTIONS``), one activity per row below. The
model prints one page per fiche; a table is chosen instead of a sheet per
fiche because it streams like every other export (one row per activity as
the snapshot reads it, whatever the register's size, where a workbook of
thousands of sheets opens slowly, if at all), and because a reader can sort,
filter and compare the activities, and a program read them back, by column.

Both sheets hold the controller records (Art. 30(1)) of the chosen
organisation that are not retired, since the model documents current
processing. The data categories go in the column of their CNIL group
(``subjects.enums.CnilGroup``, whose labels are the model's headings); a
category not yet grouped in "Autres données (non classées)", so that nothing
is dropped. Special categories (Art. 9), criminal data (Art. 10) and the
national identifier are the model's "données sensibles": "Oui" or "Non", and
which. Recipients are split by their type into internal services, external
bodies and processors; security measures by their area (``MeasureArea``),
the areas of the CNIL's checklist.

Every French word of the layout is declared in this module, but for the
groups' headings, which are the labels of ``CnilGroup``; the register's own
text (names, purposes, retention triggers) is written as it is stored.
Everything written comes from the register's snapshot
(``ropa.exchange.snapshot``), so an export as of a past day shows the
categories' groups, the recipients' types and the measures' areas as they
stood then.
"""

from dataclasses import dataclass

from django.utils import translation
from django_countries import countries

from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    MeasureArea,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    TransferMechanism,
)
from ropa.exchange.books import Names, transfer_order
from ropa.exchange.columns import Sheet, written
from ropa.exchange.ico_layout import contact_line
from ropa.exchange.layout import name_list
from ropa.models import Recipient, SecurityMeasure
from subjects.enums import CnilGroup, Sensitivity, SpecialCategory
from subjects.models import PersonalDataCategory

# The format's code (``ropa.exchange.export.FORMATS``).
CNIL = "cnil"

# ---------------------------------------------------------------------------
# The French of the layout
# ---------------------------------------------------------------------------

TITLE = "Registre des activités de traitement de {organisation}"
EXPORTED_AT = "Exporté le"
AS_OF = "État du registre au"

CONTROLLER = "Responsable du traitement"
OFFICER = "Délégué à la protection des données"
REPRESENTATIVE = "Représentant"
NAME = "Nom"
ADDRESS = "Adresse"
# The model asks for the company of an external DPO: its address holds it.
OFFICER_ADDRESS = "Adresse (société si DPO externe)"
EMAIL = "Adresse de messagerie"
TELEPHONE = "Téléphone"

ACTIVITY_TABLE = (
    "Activités de l'organisme impliquant le traitement de données personnelles"
)
REFERENCE = "Référence"
ACTIVITY_NAME = "Nom du traitement"
CREATED = "Date de création"
UPDATED = "Date de dernière mise à jour"
STATUS = "Statut"
ACTIVITY_HEADERS = (REFERENCE, ACTIVITY_NAME, CREATED, UPDATED, STATUS)

STATUSES = {
    ActivityStatus.DRAFT: "Brouillon",
    ActivityStatus.ACTIVE: "Actif",
    ActivityStatus.RETIRED: "Retiré",
}
YES = "Oui"
NO = "Non"

# The data of no CNIL group yet.
OTHER_DATA = "Autres données (non classées)"
SENSITIVE = "Des données sensibles sont-elles traitées ?"
SENSITIVE_DATA = "Données sensibles traitées"
SPECIAL_CATEGORIES = {
    SpecialCategory.RACIAL_ETHNIC: "Données révélant l'origine raciale ou ethnique",
    SpecialCategory.POLITICAL: "Données révélant les opinions politiques",
    SpecialCategory.RELIGIOUS: (
        "Données révélant les convictions religieuses ou philosophiques"
    ),
    SpecialCategory.TRADE_UNION: "Données révélant l'appartenance syndicale",
    SpecialCategory.GENETIC: "Données génétiques",
    SpecialCategory.BIOMETRIC: (
        "Données biométriques aux fins d'identifier une personne physique de "
        "manière unique"
    ),
    SpecialCategory.HEALTH: "Données concernant la santé",
    SpecialCategory.SEX_LIFE: (
        "Données concernant la vie sexuelle ou l'orientation sexuelle"
    ),
}
SENSITIVITIES = {
    # A special category whose Art. 9(1) category is not named.
    Sensitivity.SPECIAL: "Catégorie particulière de données (art. 9)",
    Sensitivity.CRIMINAL: (
        "Données relatives aux condamnations pénales et aux infractions (art. 10)"
    ),
    Sensitivity.NATIONAL_ID: "Numéro d'identification national unique (NIR)",
}

ALL_DATA = "Toutes les données"
RETENTION_UNITS = {
    RetentionUnit.DAYS: ("jour", "jours"),
    RetentionUnit.MONTHS: ("mois", "mois"),
    RetentionUnit.YEARS: ("an", "ans"),
}
RETENTION_ACTIONS = {
    RetentionAction.ERASE: "effacement",
    RetentionAction.ANONYMISE: "anonymisation",
    RetentionAction.ARCHIVE: "archivage",
    RetentionAction.REVIEW: "réexamen",
}

RECIPIENT_COLUMNS = {
    RecipientType.INTERNAL: "Destinataires internes (services)",
    RecipientType.EXTERNAL: "Destinataires externes (organismes)",
    RecipientType.PROCESSOR: "Sous-traitants",
}
MECHANISMS = {
    TransferMechanism.ADEQUACY: "Décision d'adéquation (art. 45)",
    TransferMechanism.SCC: "Clauses contractuelles types (art. 46.2.c)",
    TransferMechanism.BCR: "Règles d'entreprise contraignantes (art. 47)",
    TransferMechanism.PUBLIC_AUTHORITY_INSTRUMENT: (
        "Instrument juridiquement contraignant entre autorités publiques (art. 46.2.a)"
    ),
    TransferMechanism.CODE_OF_CONDUCT: "Code de conduite approuvé (art. 46.2.e)",
    TransferMechanism.CERTIFICATION: (
        "Mécanisme de certification approuvé (art. 46.2.f)"
    ),
    TransferMechanism.AD_HOC_CLAUSES: (
        "Clauses contractuelles autorisées par l'autorité de contrôle (art. 46.3.a)"
    ),
    TransferMechanism.DEROGATION: (
        "Dérogation pour une situation particulière (art. 49.1, premier alinéa)"
    ),
    TransferMechanism.COMPELLING_INTERESTS: (
        "Intérêts légitimes impérieux (art. 49.1, second alinéa)"
    ),
}
TRANSFER_IMPACT_ASSESSMENT = "AITD"
CONTACT_POINT = "Point de contact des personnes concernées"

# The areas of the CNIL's checklist, in its order: one column each.
MEASURE_AREAS = {
    MeasureArea.ACCESS_CONTROL: "Contrôle d'accès des utilisateurs",
    MeasureArea.TRACEABILITY: "Mesures de traçabilité",
    MeasureArea.SOFTWARE_PROTECTION: "Mesures de protection des logiciels",
    MeasureArea.BACKUPS: "Sauvegarde des données",
    MeasureArea.ENCRYPTION: "Chiffrement des données",
    MeasureArea.PROCESSOR_CONTROL: "Contrôle des sous-traitants",
    MeasureArea.PHYSICAL: "Sécurité physique des locaux",
    MeasureArea.AWARENESS: "Sensibilisation des utilisateurs",
    MeasureArea.TESTING: "Tests et évaluation réguliers des mesures",
    MeasureArea.OTHER: "Autres mesures",
}
SECURITY_DESCRIPTION = "Description générale des mesures de sécurité"


def french(words, code):
    """The French of a choice; a code no longer among the choices as it is."""
    return words.get(code, code)


# ---------------------------------------------------------------------------
# What the fiches look up
# ---------------------------------------------------------------------------


class CnilNames(Names):
    """
    ``Names``, with what the fiches add: the controller's parties as lines,
    and the categories' CNIL groups and sensitivities, the recipients' types
    and the measures' areas, as the register had them.
    """

    def __init__(self, catalogue, register):
        super().__init__(catalogue)
        self.controller = catalogue.organisations[register.controller.pk]
        self.officer_row = self.officer(self.controller)
        self.representative_row = self.representative(self.controller)
        data = catalogue.details[PersonalDataCategory]
        # A group no longer among the choices is no group.
        self.groups = {
            pk: row["cnil_group"] if row["cnil_group"] in CnilGroup.values else ""
            for pk, row in data.items()
        }
        self.sensitive = {pk: _sensitive_kind(row) for pk, row in data.items()}
        # A type no longer among the choices: an external body.
        self.recipient_types = {
            pk: row["recipient_type"]
            if row["recipient_type"] in RECIPIENT_COLUMNS
            else RecipientType.EXTERNAL
            for pk, row in catalogue.details[Recipient].items()
        }
        # An area no longer among the choices: other measures.
        self.areas = {
            pk: row["area"] if row["area"] in MEASURE_AREAS else MeasureArea.OTHER
            for pk, row in catalogue.details[SecurityMeasure].items()
        }

    def party_line(self, row):
        return contact_line(
            row.get("name", ""),
            row.get("address", ""),
            row.get("email", ""),
            row.get("phone", ""),
        )


def _sensitive_kind(row):
    """What makes a category sensitive, in French; "" for ordinary data."""
    sensitivity = row["sensitivity"]
    if sensitivity == Sensitivity.ORDINARY:
        return ""
    if sensitivity == Sensitivity.SPECIAL and row["special_category"]:
        return french(SPECIAL_CATEGORIES, row["special_category"])
    return french(SENSITIVITIES, sensitivity)


# ---------------------------------------------------------------------------
# The fiche's columns
# ---------------------------------------------------------------------------


def _value(key):
    def write(activity, names):
        return activity[key]

    return write


def _day(key):
    def write(activity, names):
        moment = names.local(activity[key])
        return moment.date() if moment else ""

    return write


def _controller(activity, names):
    return names.party_line(names.controller)


def _officer(activity, names):
    return names.party_line(names.officer_row)


def _representative(activity, names):
    return names.party_line(names.representative_row)


def _joint_controllers(activity, names):
    """The other parties to the activity's arrangement, and its contact point."""
    arrangement_id = activity["joint_arrangement_id"]
    if arrangement_id is None:
        return ""
    arrangement = names.catalogue.arrangements[arrangement_id]
    parties = sorted(
        (
            names.catalogue.organisations[pk]
            for pk in arrangement["parties"]
            if pk != names.controller["id"]
        ),
        key=lambda party: party["name"],
    )
    contact_point = arrangement["contact_point"]
    lines = [names.party_line(party) for party in parties]
    if contact_point:
        lines.append(f"{CONTACT_POINT} : {' '.join(contact_point.split())}")
    return "\n".join(lines)


def _data_group(group):
    def write(activity, names):
        return name_list(
            names.data[pk]
            for pk in activity["personal_data_categories"]
            if names.groups[pk] == group
        )

    return write


def _sensitive(activity, names):
    sensitive = any(names.sensitive[pk] for pk in activity["personal_data_categories"])
    return YES if sensitive else NO


def _sensitive_data(activity, names):
    return name_list(
        f"{names.sensitive[pk]} : {names.data[pk]}"
        for pk in activity["personal_data_categories"]
        if names.sensitive[pk]
    )


def retention_text(rule, names):
    """``Toutes les données : 3 ans after the end of the contract, puis effacement``."""
    scope = names.data_category(rule["personal_data_category_id"]) or ALL_DATA
    if rule["period"]:
        singular, plural = RETENTION_UNITS.get(
            rule["period_unit"], (rule["period_unit"],) * 2
        )
        unit = singular if rule["period"] == 1 else plural
        how_long = " ".join(
            part for part in (str(rule["period"]), unit, rule["trigger"]) if part
        )
    else:
        how_long = rule["criteria"]
    text = f"{scope} : {how_long}, puis {french(RETENTION_ACTIONS, rule['end_action'])}"
    if rule["legal_reference"]:
        text += f" ({rule['legal_reference']})"
    return " ".join(text.split())


def _retention(activity, names):
    return "\n".join(
        retention_text(rule, names)
        for rule in names.sorted_rules(activity["retention_rules"])
    )


def _recipients(recipient_type):
    def write(activity, names):
        return name_list(
            names.recipients[pk]
            for pk in activity["recipients"]
            if names.recipient_types[pk] == recipient_type
        )

    return write


def _recipient(transfer, names):
    return names.recipient(transfer["recipient_id"])


def _country(transfer, names):
    if not transfer["country"]:
        return transfer["international_organisation"]
    with translation.override("fr"):
        return str(countries.name(transfer["country"])) or transfer["country"]


def _mechanism(transfer, names):
    return french(MECHANISMS, transfer["mechanism"])


def _documentation(transfer, names):
    parts = [transfer["safeguards_documentation"]]
    if transfer["tia_reference"]:
        parts.append(f"{TRANSFER_IMPACT_ASSESSMENT} : {transfer['tia_reference']}")
    return " ; ".join(part for part in parts if part)


def _transfers(line):
    """
    One line per transfer, in the same order in each column, so that the
    lines of the transfer columns read across.
    """

    def write(activity, names):
        lines = [
            " ".join(line(transfer, names).split())
            for transfer in sorted(activity["transfers"], key=transfer_order)
        ]
        return "\n".join(lines) if any(lines) else ""

    return write


def _measures(area):
    def write(activity, names):
        return name_list(
            names.measures[pk]
            for pk in activity["security_measures"]
            if names.areas[pk] == area
        )

    return write


@dataclass(frozen=True)
class Section:
    """A part of the model's fiche: its title and its columns."""

    title: str
    columns: tuple


FICHE_SECTIONS = (
    Section(
        "Description du traitement",
        (
            written(REFERENCE, _value("reference")),
            written("Nom / sigle du traitement", _value("name")),
            written(CREATED, _day("created_at")),
            written(UPDATED, _day("updated_at")),
        ),
    ),
    Section(
        "Acteurs",
        (
            written(CONTROLLER, _controller),
            written(OFFICER, _officer),
            written(REPRESENTATIVE, _representative),
            written("Responsables conjoints", _joint_controllers),
        ),
    ),
    Section(
        "Finalité(s) du traitement effectué",
        (
            written("Finalité principale", _value("name")),
            written("Sous-finalités", _value("purpose")),
        ),
    ),
    Section("Logiciels", (written("Logiciels utilisés", _value("systems")),)),
    Section(
        "Personnes concernées",
        (
            written(
                "Catégories de personnes concernées",
                lambda activity, names: names.joined(
                    names.subjects, activity["data_subject_categories"]
                ),
            ),
        ),
    ),
    Section(
        "Catégories de données personnelles concernées",
        (
            *(written(label, _data_group(group)) for group, label in CnilGroup.choices),
            written(OTHER_DATA, _data_group("")),
        ),
    ),
    Section(
        "Données sensibles",
        (written(SENSITIVE, _sensitive), written(SENSITIVE_DATA, _sensitive_data)),
    ),
    Section(
        "Durées de conservation",
        (written("Durées de conservation (délais d'effacement)", _retention),),
    ),
    Section(
        "Destinataires des données",
        tuple(
            written(header, _recipients(recipient_type))
            for recipient_type, header in RECIPIENT_COLUMNS.items()
        ),
    ),
    Section(
        "Transferts des données hors UE",
        (
            written("Destinataire", _transfers(_recipient)),
            written("Pays", _transfers(_country)),
            written("Type de garanties", _transfers(_mechanism)),
            written("Lien vers la documentation", _transfers(_documentation)),
        ),
    ),
    Section(
        "Mesures de sécurité",
        (
            *(
                written(header, _measures(area))
                for area, header in MEASURE_AREAS.items()
            ),
            written(SECURITY_DESCRIPTION, _value("security_description")),
        ),
    ),
)

FICHES = Sheet(
    "Fiches",
    "cnil-fiches.csv",
    tuple(column for section in FICHE_SECTIONS for column in section.columns),
)
REGISTER = Sheet("Registre", "cnil-registre.csv", ())
# The row of the headings, below the sections'.
HEADING_ROW = 2


def section_row():
    """Row 1 of the Fiches sheet: each section's title above its first column."""
    cells = []
    for section in FICHE_SECTIONS:
        cells.extend([section.title] + [""] * (len(section.columns) - 1))
    return cells


# ---------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------


def _party_block(title, row, address_label=ADDRESS):
    """A party's heading, then its name and contact details, a line each."""
    return (
        (title,),
        (NAME, row.get("name", "")),
        (address_label, row.get("address", "")),
        (EMAIL, row.get("email", "")),
        (TELEPHONE, row.get("phone", "")),
    )


def _write_register_head(sheet, register, names, exported_at):
    controller = names.controller
    sheet.heading((TITLE.format(organisation=controller["name"]),))
    sheet.append((EXPORTED_AT, names.local(exported_at)))
    if register.as_of is not None:
        sheet.append((AS_OF, register.as_of))
    blocks = [
        _party_block(CONTROLLER, controller),
        _party_block(OFFICER, names.officer_row, OFFICER_ADDRESS),
    ]
    if names.representative_row:
        blocks.append(_party_block(REPRESENTATIVE, names.representative_row))
    for title, *lines in blocks:
        sheet.append(())
        sheet.heading(title)
        for line in lines:
            sheet.append(line)
    sheet.append(())
    sheet.heading((ACTIVITY_TABLE,))
    sheet.heading(ACTIVITY_HEADERS)


def write_cnil(book, register, summary, exported_at, bar):
    # ``export_register`` sees that a controller is chosen.
    catalogue = register.catalogue()
    names = CnilNames(catalogue, register)
    register_sheet = book.sheet(REGISTER, frozen_rows=0)
    fiches = book.sheet(FICHES, frozen_rows=HEADING_ROW)
    _write_register_head(register_sheet, register, names, exported_at)
    fiches.heading(section_row())
    fiches.heading(FICHES.headers)
    writers = [column.write for column in FICHES.columns]
    created, updated = _day("created_at"), _day("updated_at")
    count = 0
    for chunk in register.activities(bar):
        for activity in chunk:
            if (
                activity["status"] == ActivityStatus.RETIRED
                or activity["role"] != ActivityRole.CONTROLLER
            ):
                continue
            register_sheet.append(
                (
                    activity["reference"],
                    activity["name"],
                    created(activity, names),
                    updated(activity, names),
                    french(STATUSES, activity["status"]),
                )
            )
            fiches.append([write(activity, names) for write in writers])
            count += 1
    summary.rows = {FICHES.name: count}
