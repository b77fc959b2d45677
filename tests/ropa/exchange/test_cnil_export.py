"""
The register in the CNIL's layout (``ropa.exchange.cnil``), exported as the
DPO does it (the export function, the admin's export page, the command) and
read back with openpyxl.
"""

import datetime
import io
from contextlib import contextmanager
from io import StringIO
from unittest import mock

import lxml.html
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from controllers.enums import DPOEngagement
from controllers.models import Organisation
from ropa.enums import (
    ActivityStatus,
    MeasureArea,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    TransferMechanism,
)
from ropa.exchange import cnil
from ropa.exchange.cnil import CNIL
from ropa.exchange.export import (
    FORMATS,
    ONE_ORGANISATION,
    XLSX_CONTENT_TYPE,
    ExportError,
    default_filename,
    export_register,
)
from ropa.sample.data import DATA_CATEGORIES
from subjects.enums import CnilGroup, Sensitivity, SpecialCategory
from subjects.models import PersonalDataCategory
from tests.admin_pages import form_data
from tests.factories import (
    DataProtectionOfficerFactory,
    GroupCompanyFactory,
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    RetentionRuleFactory,
    SecurityMeasureFactory,
)

pytestmark = pytest.mark.django_db

DAY1 = datetime.date(2024, 3, 1)
BETWEEN = datetime.date(2024, 4, 15)
DAY2 = datetime.date(2024, 6, 3)

# The headings of the CNIL's model fiche, as a French DPO reads them.
FICHE_HEADINGS = (
    "Référence",
    "Nom / sigle du traitement",
    "Date de création",
    "Date de dernière mise à jour",
    "Responsable du traitement",
    "Délégué à la protection des données",
    "Représentant",
    "Responsables conjoints",
    "Finalité principale",
    "Sous-finalités",
    "Logiciels utilisés",
    "Catégories de personnes concernées",
    "État civil, identité, données d'identification, images",
    "Vie personnelle (habitudes de vie, situation familiale, etc.)",
    "Vie professionnelle (CV, scolarité, formation professionnelle, "
    "distinctions, etc.)",
    "Informations d'ordre économique et financier (revenus, situation "
    "financière, situation fiscale, etc.)",
    "Données de connexion (adresse IP, logs, identifiants des terminaux, "
    "identifiants de connexion, informations d'horodatage, etc.)",
    "Données de localisation (déplacements, données GPS, GSM, etc.)",
    "Autres données (non classées)",
    "Des données sensibles sont-elles traitées ?",
    "Données sensibles traitées",
    "Durées de conservation (délais d'effacement)",
    "Destinataires internes (services)",
    "Destinataires externes (organismes)",
    "Sous-traitants",
    "Destinataire",
    "Pays",
    "Type de garanties",
    "Lien vers la documentation",
    "Contrôle d'accès des utilisateurs",
    "Mesures de traçabilité",
    "Mesures de protection des logiciels",
    "Sauvegarde des données",
    "Chiffrement des données",
    "Contrôle des sous-traitants",
    "Sécurité physique des locaux",
    "Sensibilisation des utilisateurs",
    "Tests et évaluation réguliers des mesures",
    "Autres mesures",
    "Description générale des mesures de sécurité",
)
SECTIONS = {
    "Référence": "Description du traitement",
    "Responsable du traitement": "Acteurs",
    "Finalité principale": "Finalité(s) du traitement effectué",
    "Logiciels utilisés": "Logiciels",
    "Catégories de personnes concernées": "Personnes concernées",
    "État civil, identité, données d'identification, images": (
        "Catégories de données personnelles concernées"
    ),
    "Des données sensibles sont-elles traitées ?": "Données sensibles",
    "Durées de conservation (délais d'effacement)": "Durées de conservation",
    "Destinataires internes (services)": "Destinataires des données",
    "Destinataire": "Transferts des données hors UE",
    "Contrôle d'accès des utilisateurs": "Mesures de sécurité",
}
IDENTITY = "État civil, identité, données d'identification, images"
CONNECTION = (
    "Données de connexion (adresse IP, logs, identifiants des terminaux, "
    "identifiants de connexion, informations d'horodatage, etc.)"
)
OTHER_DATA = "Autres données (non classées)"
SENSITIVE = "Des données sensibles sont-elles traitées ?"
SENSITIVE_DATA = "Données sensibles traitées"
TRANSFER_HEADINGS = (
    "Destinataire",
    "Pays",
    "Type de garanties",
    "Lien vers la documentation",
)


@contextmanager
def on(day):
    """Saves made inside are dated at noon on ``day``, with their history."""
    noon = datetime.datetime.combine(
        day, datetime.time(12), tzinfo=timezone.get_default_timezone()
    )
    with mock.patch("django.utils.timezone.now", return_value=noon):
        yield


@pytest.fixture
def controller():
    """A French company with its DPO and no representative."""
    return GroupCompanyFactory(
        name="Acme SAS",
        slug="acme-sas",
        country="FR",
        address="1 rue de la Paix, 75002 Paris",
        email="privacy@acme.example",
        phone="+33 1 23 45 67 89",
        dpo=DataProtectionOfficerFactory(
            name="Claire Martin",
            email="dpo@conseil.example",
            phone="+33 6 12 34 56 78",
            address="Conseil RGPD SARL, 3 rue Monge, 75005 Paris",
            engagement=DPOEngagement.EXTERNAL,
        ),
    )


def _export(controller, **options):
    out = io.BytesIO()
    export_register(fmt=CNIL, out=out, controller=controller, **options)
    return out.getvalue()


def _workbook(data):
    return load_workbook(io.BytesIO(data))


def _value(cell):
    """A cell's value; a date cell (not a date-time) as a date."""
    if cell.is_date and "h" not in cell.number_format:
        return cell.value.date()
    return cell.value


def _values(worksheet):
    return [[_value(cell) for cell in row] for row in worksheet.iter_rows()]


def fiches(data):
    """The rows of the Fiches sheet as dicts keyed by heading (row 2)."""
    _, headings, *rows = _values(_workbook(data)["Fiches"])
    return [dict(zip(headings, row, strict=True)) for row in rows]


def registre(data):
    """The rows of the Registre sheet, up to the activities table and in it."""
    rows = _values(_workbook(data)["Registre"])
    start = next(
        position
        for position, row in enumerate(rows)
        if tuple(row[: len(cnil.ACTIVITY_HEADERS)]) == cnil.ACTIVITY_HEADERS
    )
    head = [[value for value in row if value is not None] for row in rows[:start]]
    table = [row[: len(cnil.ACTIVITY_HEADERS)] for row in rows[start + 1 :]]
    return head, table


def _fiche(controller, **options):
    [row] = fiches(_export(controller, **options))
    return row


# ---------------------------------------------------------------------------
# The format
# ---------------------------------------------------------------------------


def test_cnil_format_is_an_xlsx_layout_of_one_organisation(controller):
    export_format = FORMATS[CNIL]

    assert export_format.label == (
        "CNIL register of processing activities, in French (XLSX)"
    )
    assert export_format.content_type == XLSX_CONTENT_TYPE
    assert export_format.one_organisation
    assert default_filename(fmt=CNIL, controller=controller, as_of=DAY1) == (
        "ropa-register-acme-sas-as-of-2024-03-01-cnil.xlsx"
    )


def test_cnil_export_requires_a_controller():
    with pytest.raises(ExportError) as excinfo:
        export_register(fmt=CNIL, out=io.BytesIO())

    assert str(excinfo.value) == ONE_ORGANISATION.format(label=FORMATS[CNIL].label)


@pytest.mark.parametrize(
    ("words", "choices"),
    [
        (cnil.STATUSES, ActivityStatus),
        (cnil.RECIPIENT_COLUMNS, RecipientType),
        (cnil.MECHANISMS, TransferMechanism),
        (cnil.MEASURE_AREAS, MeasureArea),
        (cnil.SPECIAL_CATEGORIES, SpecialCategory),
        (cnil.RETENTION_UNITS, RetentionUnit),
        (cnil.RETENTION_ACTIONS, RetentionAction),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_cnil_layout_says_every_choice_in_french(words, choices):
    assert list(words) == list(choices.values)


def test_cnil_layout_names_every_kind_of_sensitive_data():
    assert set(cnil.SENSITIVITIES) == set(Sensitivity.values) - {Sensitivity.ORDINARY}


# ---------------------------------------------------------------------------
# The sheets
# ---------------------------------------------------------------------------


def test_cnil_export_has_the_registre_then_the_fiches_in_french(controller):
    ProcessingActivityFactory(organisations=[controller])

    workbook = _workbook(_export(controller))
    sections, headings = _values(workbook["Fiches"])[:2]

    assert workbook.sheetnames == ["Registre", "Fiches"]
    assert tuple(headings) == FICHE_HEADINGS
    # Each section's title stands above its first column, and only there.
    assert {
        headings[position]: title
        for position, title in enumerate(sections)
        if title is not None
    } == SECTIONS


def test_cnil_registre_has_the_controller_and_dpo_blocks(controller):
    head, _ = registre(_export(controller))

    assert head[0] == ["Registre des activités de traitement de Acme SAS"]
    assert head[1][0] == "Exporté le"
    assert [row for row in head[2:] if row] == [
        ["Responsable du traitement"],
        ["Nom", "Acme SAS"],
        ["Adresse", "1 rue de la Paix, 75002 Paris"],
        ["Adresse de messagerie", "privacy@acme.example"],
        ["Téléphone", "+33 1 23 45 67 89"],
        ["Délégué à la protection des données"],
        ["Nom", "Claire Martin"],
        [
            "Adresse (société si DPO externe)",
            "Conseil RGPD SARL, 3 rue Monge, 75005 Paris",
        ],
        ["Adresse de messagerie", "dpo@conseil.example"],
        ["Téléphone", "+33 6 12 34 56 78"],
        ["Activités de l'organisme impliquant le traitement de données personnelles"],
    ]


def test_cnil_registre_names_the_representative_where_there_is_one():
    representative = OrganisationFactory(
        name="EU Rep SARL",
        address="5 rue Royale, 75008 Paris",
        email="rep@eurep.example",
        phone="+33 1 00 00 00 00",
    )
    controller = OrganisationFactory(
        outside_eea=True, representative=representative, dpo=None
    )

    head, _ = registre(_export(controller))

    start = head.index(["Représentant"])
    assert head[start : start + 5] == [
        ["Représentant"],
        ["Nom", "EU Rep SARL"],
        ["Adresse", "5 rue Royale, 75008 Paris"],
        ["Adresse de messagerie", "rep@eurep.example"],
        ["Téléphone", "+33 1 00 00 00 00"],
    ]


def test_cnil_export_lists_the_controllers_current_controller_records(controller):
    with on(DAY1):
        ProcessingActivityFactory(
            reference="PA-0001", name="Paie", organisations=[controller]
        )
        ProcessingActivityFactory(
            reference="PA-0002",
            name="Prospection",
            status=ActivityStatus.DRAFT,
            organisations=[controller],
        )
        ProcessingActivityFactory(
            reference="PA-0003",
            status=ActivityStatus.RETIRED,
            organisations=[controller],
        )
        ProcessingActivityFactory(
            reference="PA-0004", processor_record=True, organisations=[controller]
        )
        ProcessingActivityFactory(reference="PA-0005")

    data = _export(controller)
    _, table = registre(data)

    assert table == [
        ["PA-0001", "Paie", DAY1, DAY1, "Actif"],
        [
            "PA-0002",
            "Prospection",
            DAY1,
            DAY1,
            "Brouillon",
        ],
    ]
    assert [row["Référence"] for row in fiches(data)] == ["PA-0001", "PA-0002"]


def test_cnil_fiche_holds_the_description_purposes_and_software(controller):
    with on(DAY1):
        activity = ProcessingActivityFactory(
            reference="PA-0001",
            name="Gestion de la paie",
            purpose="Calculer et verser les salaires.",
            systems="SAP HCM; Excel",
            organisations=[controller],
        )
    with on(DAY2):
        activity.business_function = "RH"
        activity.save()

    fiche = _fiche(controller)

    assert fiche["Référence"] == "PA-0001"
    assert fiche["Nom / sigle du traitement"] == "Gestion de la paie"
    assert fiche["Date de création"] == DAY1
    assert fiche["Date de dernière mise à jour"] == DAY2
    assert fiche["Finalité principale"] == "Gestion de la paie"
    assert fiche["Sous-finalités"] == "Calculer et verser les salaires."
    assert fiche["Logiciels utilisés"] == "SAP HCM; Excel"


def test_cnil_fiche_names_the_actors(controller):
    partner = GroupCompanyFactory(
        name="Beta GmbH",
        address="Hauptstr. 1, Berlin",
        email="privacy@beta.example",
        phone="",
    )
    arrangement = JointControllerArrangementFactory(
        parties=[controller, partner], contact_point="privacy@group.example"
    )
    ProcessingActivityFactory(
        organisations=[controller, partner], joint_arrangement=arrangement
    )

    fiche = _fiche(controller)

    assert fiche["Responsable du traitement"] == (
        "Acme SAS, 1 rue de la Paix, 75002 Paris, privacy@acme.example, "
        "+33 1 23 45 67 89"
    )
    assert fiche["Délégué à la protection des données"] == (
        "Claire Martin, Conseil RGPD SARL, 3 rue Monge, 75005 Paris, "
        "dpo@conseil.example, +33 6 12 34 56 78"
    )
    assert fiche["Représentant"] is None
    assert fiche["Responsables conjoints"] == (
        "Beta GmbH, Hauptstr. 1, Berlin, privacy@beta.example\n"
        "Point de contact des personnes concernées : privacy@group.example"
    )


def test_cnil_fiche_puts_each_data_category_in_its_cnil_group(controller):
    categories = [
        PersonalDataCategoryFactory(
            name="Nom et prénom", cnil_group=CnilGroup.IDENTITY
        ),
        PersonalDataCategoryFactory(name="Photo", cnil_group=CnilGroup.IDENTITY),
        PersonalDataCategoryFactory(
            name="Situation familiale", cnil_group=CnilGroup.PERSONAL_LIFE
        ),
        PersonalDataCategoryFactory(
            name="Poste occupé", cnil_group=CnilGroup.PROFESSIONAL_LIFE
        ),
        PersonalDataCategoryFactory(name="RIB", cnil_group=CnilGroup.ECONOMIC),
        PersonalDataCategoryFactory(name="Adresse IP", cnil_group=CnilGroup.CONNECTION),
        PersonalDataCategoryFactory(name="Position GPS", cnil_group=CnilGroup.LOCATION),
        PersonalDataCategoryFactory(name="Préférences", ungrouped=True),
    ]
    PersonalDataCategoryFactory(name="Unused", cnil_group=CnilGroup.IDENTITY)
    ProcessingActivityFactory(
        organisations=[controller], personal_data_categories=categories
    )

    fiche = _fiche(controller)

    assert [fiche[label] for label in CnilGroup.labels] == [
        "Nom et prénom; Photo",
        "Situation familiale",
        "Poste occupé",
        "RIB",
        "Adresse IP",
        "Position GPS",
    ]
    assert fiche[OTHER_DATA] == "Préférences"


@pytest.mark.parametrize(
    ("traits", "answer", "which"),
    [
        ({}, "Non", None),
        ({"special": True}, "Oui", "Données concernant la santé : Dossier"),
        (
            {"criminal": True},
            "Oui",
            "Données relatives aux condamnations pénales et aux infractions "
            "(art. 10) : Dossier",
        ),
        (
            {"national_id": True},
            "Oui",
            "Numéro d'identification national unique (NIR) : Dossier",
        ),
    ],
    ids=["ordinary", "special", "criminal", "national_id"],
)
def test_cnil_fiche_says_whether_sensitive_data_is_processed(
    controller, traits, answer, which
):
    ordinary = PersonalDataCategoryFactory(name="Nom")
    category = PersonalDataCategoryFactory(name="Dossier", **traits)
    ProcessingActivityFactory(
        organisations=[controller], personal_data_categories=[ordinary, category]
    )

    fiche = _fiche(controller)

    assert (fiche[SENSITIVE], fiche[SENSITIVE_DATA]) == (answer, which)


def test_cnil_fiche_lists_each_sensitive_category_by_its_kind(controller):
    categories = [
        PersonalDataCategoryFactory(
            name="Empreinte digitale",
            sensitivity=Sensitivity.SPECIAL,
            special_category=SpecialCategory.BIOMETRIC,
        ),
        PersonalDataCategoryFactory(name="Casier judiciaire", criminal=True),
        PersonalDataCategoryFactory(name="Arrêts maladie", special=True),
    ]
    ProcessingActivityFactory(
        organisations=[controller], personal_data_categories=categories
    )

    fiche = _fiche(controller)

    assert fiche[SENSITIVE_DATA] == (
        "Données biométriques aux fins d'identifier une personne physique de "
        "manière unique : Empreinte digitale; "
        "Données concernant la santé : Arrêts maladie; "
        "Données relatives aux condamnations pénales et aux infractions "
        "(art. 10) : Casier judiciaire"
    )


def test_cnil_fiche_states_retention_for_all_data_then_per_category(controller):
    invoices = PersonalDataCategoryFactory(name="Factures")
    contacts = PersonalDataCategoryFactory(name="Contacts")
    activity = ProcessingActivityFactory(
        organisations=[controller],
        personal_data_categories=[invoices, contacts],
        retention=False,
    )
    RetentionRuleFactory(
        activity=activity,
        personal_data_category=invoices,
        period=10,
        period_unit=RetentionUnit.YEARS,
        trigger="après la clôture de l'exercice",
        end_action=RetentionAction.ARCHIVE,
        legal_reference="C. com. L123-22",
    )
    RetentionRuleFactory(
        activity=activity,
        personal_data_category=contacts,
        by_criteria=True,
        criteria="Jusqu'au désabonnement.",
    )
    RetentionRuleFactory(
        activity=activity,
        period=1,
        period_unit=RetentionUnit.MONTHS,
        trigger="après la fin du contrat",
    )

    fiche = _fiche(controller)

    assert fiche["Durées de conservation (délais d'effacement)"] == (
        "Toutes les données : 1 mois après la fin du contrat, puis effacement\n"
        "Contacts : Jusqu'au désabonnement., puis effacement\n"
        "Factures : 10 ans après la clôture de l'exercice, puis archivage "
        "(C. com. L123-22)"
    )


def test_cnil_fiche_splits_recipients_into_three_columns(controller):
    recipients = [
        RecipientFactory(name="Service RH", internal=True),
        RecipientFactory(name="Service paie", internal=True),
        RecipientFactory(name="URSSAF"),
        RecipientFactory(name="Prestataire paie", processor=True),
    ]
    ProcessingActivityFactory(organisations=[controller], recipients=recipients)

    fiche = _fiche(controller)

    assert fiche["Destinataires internes (services)"] == "Service RH; Service paie"
    assert fiche["Destinataires externes (organismes)"] == "URSSAF"
    assert fiche["Sous-traitants"] == "Prestataire paie"


def test_cnil_fiche_lists_transfers_a_line_each_across_its_columns(controller):
    activity = ProcessingActivityFactory(organisations=[controller])
    InternationalTransferFactory(
        activity=activity,
        recipient=RecipientFactory(name="Support Inde", outside_eea=True),
        safeguards_documentation="https://docs.example/scc",
        tia_reference="TIA-7",
    )
    InternationalTransferFactory(
        activity=activity,
        to_international_organisation=True,
        mechanism=TransferMechanism.DEROGATION,
        tia_reference="",
    )
    ProcessingActivityFactory(organisations=[controller])

    fiche, without = fiches(_export(controller))

    # By country code: the international organisation's "" first.
    assert fiche["Destinataire"] == "\nSupport Inde"
    assert fiche["Pays"] == "World Health Organization\nInde"
    assert fiche["Type de garanties"] == (
        "Dérogation pour une situation particulière (art. 49.1, premier alinéa)\n"
        "Clauses contractuelles types (art. 46.2.c)"
    )
    assert fiche["Lien vers la documentation"] == (
        "\nhttps://docs.example/scc ; AITD : TIA-7"
    )
    assert {without[heading] for heading in TRANSFER_HEADINGS} == {None}


def test_cnil_fiche_lists_security_measures_by_area(controller):
    measures = [
        SecurityMeasureFactory(name="MFA", area=MeasureArea.ACCESS_CONTROL),
        SecurityMeasureFactory(name="Habilitations", area=MeasureArea.ACCESS_CONTROL),
        SecurityMeasureFactory(name="Journalisation", area=MeasureArea.TRACEABILITY),
        SecurityMeasureFactory(name="TLS", area=MeasureArea.ENCRYPTION),
        SecurityMeasureFactory(name="Badges", area=MeasureArea.PHYSICAL),
        SecurityMeasureFactory(name="Charte", area=MeasureArea.OTHER),
    ]
    ProcessingActivityFactory(
        organisations=[controller],
        security_measures=measures,
        security_description="Politique de sécurité du groupe.",
    )

    fiche = _fiche(controller)

    assert {heading: fiche[heading] for heading in cnil.MEASURE_AREAS.values()} == {
        "Contrôle d'accès des utilisateurs": "Habilitations; MFA",
        "Mesures de traçabilité": "Journalisation",
        "Mesures de protection des logiciels": None,
        "Sauvegarde des données": None,
        "Chiffrement des données": "TLS",
        "Contrôle des sous-traitants": None,
        "Sécurité physique des locaux": "Badges",
        "Sensibilisation des utilisateurs": None,
        "Tests et évaluation réguliers des mesures": None,
        "Autres mesures": "Charte",
    }
    assert fiche["Description générale des mesures de sécurité"] == (
        "Politique de sécurité du groupe."
    )


def test_cnil_export_writes_formula_text_as_text(controller):
    ProcessingActivityFactory(
        organisations=[controller],
        personal_data_categories=[PersonalDataCategoryFactory(name="=1+1")],
    )

    worksheet = _workbook(_export(controller))["Fiches"]
    column = FICHE_HEADINGS.index(IDENTITY) + 1
    cell = worksheet.cell(row=3, column=column)

    assert (cell.value, cell.data_type) == ("=1+1", "s")


# ---------------------------------------------------------------------------
# As of a past day
# ---------------------------------------------------------------------------


def test_cnil_export_as_of_shows_a_category_in_its_group_of_then(controller):
    with on(DAY1):
        category = PersonalDataCategoryFactory(
            name="Identifiant", cnil_group=CnilGroup.IDENTITY
        )
        ProcessingActivityFactory(
            reference="PA-0001",
            organisations=[controller],
            personal_data_categories=[category],
        )
    with on(DAY2):
        category.cnil_group = CnilGroup.CONNECTION
        category.save()

    then = _fiche(controller, as_of=BETWEEN)
    now = _fiche(controller)

    assert (then[IDENTITY], then[CONNECTION]) == ("Identifiant", None)
    assert (now[IDENTITY], now[CONNECTION]) == (None, "Identifiant")


def test_cnil_export_as_of_states_the_day_in_the_registre(controller):
    with on(DAY1):
        ProcessingActivityFactory(organisations=[controller])
    with on(DAY2):
        ProcessingActivityFactory(organisations=[controller])

    head, table = registre(_export(controller, as_of=BETWEEN))

    assert ["État du registre au", BETWEEN] in head
    assert len(table) == 1


# ---------------------------------------------------------------------------
# From the admin and the command
# ---------------------------------------------------------------------------


def _options(page, name):
    """The values of the options of the select ``name`` the page renders."""
    document = lxml.html.document_fromstring(page.content.decode())
    return document.xpath(f'//select[@name="{name}"]/option/@value')


def test_export_page_downloads_the_cnil_register(viewer_client, controller):
    ProcessingActivityFactory(reference="PA-0001", organisations=[controller])
    url = reverse("admin:ropa_processingactivity_export_register")
    page = viewer_client.get(url)
    assert CNIL in _options(page, "format")
    assert controller.slug in _options(page, "controller")
    data = form_data(page, form_id="export-register-form", submit=None)
    data.update(format=CNIL, controller=controller.slug)

    response = viewer_client.get(url, data)
    body = b"".join(response.streaming_content)
    response.close()

    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="ropa-register-acme-sas-{today}-cnil.xlsx"'
    )
    assert [row["Référence"] for row in fiches(body)] == ["PA-0001"]


def test_export_page_asks_for_the_organisation_of_the_cnil_register(viewer_client):
    url = reverse("admin:ropa_processingactivity_export_register")
    data = form_data(
        viewer_client.get(url), form_id="export-register-form", submit=None
    )
    data.update(format=CNIL, controller="")

    response = viewer_client.get(url, data)

    assert not response.streaming
    assert response.context["form"].errors == {
        "controller": [ONE_ORGANISATION.format(label=FORMATS[CNIL].label)]
    }


def test_export_command_writes_the_cnil_register(tmp_path, controller):
    ProcessingActivityFactory(reference="PA-0001", organisations=[controller])
    path = tmp_path / "registre.xlsx"
    output = StringIO()

    options = ["--format", CNIL, "--controller", controller.slug, "--output", path]
    call_command("export_register", *map(str, options), stdout=output)

    assert [row["Référence"] for row in fiches(path.read_bytes())] == ["PA-0001"]
    assert "(cnil): Fiches 1." in output.getvalue()


def test_export_command_refuses_the_cnil_register_without_a_controller(tmp_path):
    path = tmp_path / "registre.xlsx"

    options = ["--format", CNIL, "--output", str(path)]
    with pytest.raises(CommandError) as excinfo:
        call_command("export_register", *options, stdout=StringIO())

    assert str(excinfo.value) == ONE_ORGANISATION.format(label=FORMATS[CNIL].label)
    assert not path.exists()


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("activities", [1, 3])
def test_cnil_export_query_count_does_not_grow_with_activities(
    django_assert_num_queries, controller, activities
):
    for _ in range(activities):
        activity = ProcessingActivityFactory(
            organisations=[controller],
            recipients=[RecipientFactory(), RecipientFactory(processor=True)],
        )
        InternationalTransferFactory(activity=activity)
    # The catalogue: organisations, DPOs, processor agreements and their
    # sub-processors, joint arrangements and their parties, data subject
    # categories, data categories (with their groups), recipients, security
    # measures (with their areas) and users (11); the activities, their 7
    # many-to-many tables and their lawful bases, transfers and retention
    # rules (11).
    with django_assert_num_queries(22):
        _export(controller)


# ---------------------------------------------------------------------------
# The sample register
# ---------------------------------------------------------------------------


def test_sample_data_gives_every_category_a_cnil_group():
    assert all(category.cnil_group in CnilGroup.values for category in DATA_CATEGORIES)


def test_sample_register_exports_no_data_outside_the_cnil_groups(sample_register):
    assert not PersonalDataCategory.objects.filter(cnil_group="").exists()
    company = Organisation.objects.filter(is_group_company=True).first()

    rows = fiches(_export(company))

    assert rows
    assert {row[OTHER_DATA] for row in rows} == {None}
    assert all(any(row[label] for label in CnilGroup.labels) for row in rows)
