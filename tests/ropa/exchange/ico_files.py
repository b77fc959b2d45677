"""
Filled UK ICO documentation templates for controllers, typed cell by cell;
the commands run on them; what of them the register holds.

The template's wordings are written out here as a person reads them in the
ICO's file, not taken from the code that writes and reads them: its 30
column headings (row 9), its section headings (row 8) and the older
wordings earlier templates and other tools give the columns. A filled
template has a "Guidance" sheet first, then the sheet "Template": the title,
the header block naming the controller, its data protection officer and its
representative (rows 1-6), the sections, the headings and one activity per
row from row 10.

``fingerprint`` is the register by its records' fields and links, to compare
two imports; ``dropped`` is the text of a filled template the register does
not hold.
"""

import re
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_countries.fields import CountryField
from openpyxl import Workbook, load_workbook
from openpyxl.utils import column_index_from_string

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

# The 30 column headings of the template, A-AD.
HEADINGS = (
    "Business function",
    "Purpose of processing",
    "Name and contact details of joint controller (if applicable)",
    "Categories of individuals",
    "Categories of personal data",
    "Categories of recipients",
    "Link to contract with processor",
    "Names of third countries or international organisations that personal data "
    "are transferred to (if applicable)",
    "Safeguards for exceptional transfers of personal data to third countries or "
    "international organisations (if applicable)",
    "Retention schedule (if possible)",
    "General description of technical and organisational security measures "
    "(if possible)",
    "Article 6 lawful basis for processing personal data",
    "Article 9 condition for processing special category data",
    "Legitimate interests for the processing (if applicable)",
    "Link to record of legitimate interests assessment (if applicable)",
    "Rights available to individuals",
    "Existence of automated decision-making, including profiling (if applicable)",
    "The source of the personal data (if applicable)",
    "Link to record of consent",
    "Location of personal data",
    "Data Protection Impact Assessment required?",
    "Data Protection Impact Assessment progress",
    "Link to Data Protection Impact Assessment",
    "Has a personal data breach occurred?",
    "Link to record of personal data breach",
    "Data Protection Act 2018 Schedule 1 Condition for processing",
    "GDPR Article 6 lawful basis for processing",
    "Link to retention and erasure policy document",
    "Is personal data retained and erased in accordance with the policy document?",
    "Reasons for not adhering to policy document (if applicable)",
)

# Row 8: each section's heading above its first column.
SECTIONS = {
    "A": "Article 30 Record of Processing Activities",
    "L": "Privacy Notices",
    "S": "Consent",
    "T": "Access Requests",
    "U": "Data Protection Impact Assessments",
    "X": "Personal Data Breaches",
    "Z": "Data Protection Act 2018 \u2013 Special Category or Criminal Conviction "
    "and Offence data",
}

# The wordings of earlier templates and other tools, one per column where it
# has one, some in another case or with extra spaces, as they come.
OLDER_HEADINGS = (
    "BUSINESS FUNCTION",
    "Purpose of the processing",
    "Joint controller",
    "categories of data subjects",
    "Personal data categories",
    "Recipients",
    "Link to contracts with processors",
    "Names of third countries or international organisations that personal data "
    "is transferred to",
    "Safeguards  for exceptional   transfers",
    "Retention period",
    "General description of technical and organizational security measures",
    "Article 6 basis for processing personal data",
    "Article 9 basis for processing special category data",
    "Legitimate interests",
    "Link to legitimate interests assessment",
    "Rights available",
    "Existence of automated decision making, including profiling",
    "Source of the personal data",
    "Link to consent record",
    "LOCATION OF THE PERSONAL DATA",
    "DPIA required?",
    "DPIA progress",
    "Link to DPIA",
    "Personal data breach?",
    "Link to personal data breach record",
    "DPA 2018 Schedule 1 condition for processing",
    "UK GDPR Article 6 lawful basis for processing",
    "Link to retention and erasure policy",
    " Is the personal data retained and erased in accordance with the policy "
    "document? ",
    "Reason for not adhering to policy document",
)

TITLE = "Documentation template for controllers"
PARTIES = ("Controller", "Data Protection Officer", "Representative")
DETAILS = ("Name", "Address", "Email", "Telephone")
SECTION_ROW = 8
HEADING_ROW = 9
FIRST_ROW = 10


@dataclass(frozen=True)
class Party:
    """A party of the header block, as typed into it."""

    name: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""

    @property
    def details(self):
        return (self.name, self.address, self.email, self.telephone)


def _header_across(sheet, parties):
    """The template's way: the parties across row 2, their details down."""
    for column, party in enumerate(PARTIES, start=2):
        sheet.cell(row=2, column=column, value=party)
    for row, detail in enumerate(DETAILS, start=3):
        sheet.cell(row=row, column=1, value=detail)
        for column, party in enumerate(parties, start=2):
            if party.details[row - 3]:
                sheet.cell(row=row, column=column, value=party.details[row - 3])


def _header_down(sheet, parties):
    """The parties down column A, their details across row 2."""
    for column, detail in enumerate(DETAILS, start=2):
        sheet.cell(row=2, column=column, value=detail)
    for row, (label, party) in enumerate(zip(PARTIES, parties, strict=True), start=3):
        sheet.cell(row=row, column=1, value=label)
        for column, value in enumerate(party.details, start=2):
            if value:
                sheet.cell(row=row, column=column, value=value)


def _header_in_cells(sheet, parties):
    """Each party on one line: "Controller: name, address, email, telephone"."""
    for row, (label, party) in enumerate(zip(PARTIES, parties, strict=True), start=2):
        details = ", ".join(value for value in party.details if value)
        if details:
            sheet.cell(row=row, column=1, value=f"{label}: {details}")


HEADER_BLOCKS = {
    "across": _header_across,
    "down": _header_down,
    "in cells": _header_in_cells,
}


def write_filled_template(
    path,
    rows,
    *,
    controller,
    officer=Party(),
    representative=Party(),
    header="across",
    headings=HEADINGS,
    extra_headings=(),
):
    """
    Save a filled template at ``path`` and return ``path``.

    ``rows`` are the activities, each {column number (1-30): text}, and
    {heading: text} for the ``extra_headings``, columns the template does not
    have, typed after its last column. ``header`` is the header block's
    layout: "across" (the template's), "down" or "in cells".
    """
    workbook = Workbook()
    guidance = workbook.active
    guidance.title = "Guidance"
    guidance["A1"] = "How to use this template"
    guidance["A3"] = (
        "Use this template to document your processing activities (Article 30 "
        "of the UK GDPR). Fill in one row per processing activity."
    )
    sheet = workbook.create_sheet("Template")
    sheet["A1"] = TITLE
    HEADER_BLOCKS[header](sheet, (controller, officer, representative))
    for letter, section in SECTIONS.items():
        sheet.cell(
            row=SECTION_ROW, column=column_index_from_string(letter)
        ).value = section
    all_headings = (*headings, *extra_headings)
    for column, heading in enumerate(all_headings, start=1):
        sheet.cell(row=HEADING_ROW, column=column, value=heading)
    for row, values in enumerate(rows, start=FIRST_ROW):
        for key, value in values.items():
            column = key if isinstance(key, int) else all_headings.index(key) + 1
            sheet.cell(row=row, column=column, value=value)
    workbook.save(path)
    return path


# A small bakery's register, as its office manager typed it: bullets, line
# breaks, trailing spaces, "N/A" and "-" for nothing, links to contracts,
# countries in the words people use, and a column of their own.
OWNER = "Owner in the business"
CONTROLLER = Party(
    name="Northwind Bakeries Ltd",
    address="14 Mill Lane, Dublin 2, Ireland",
    email="privacy@northwind.example",
    telephone="+353 1 555 0100",
)
OFFICER = Party(
    name="Priya Shah",
    address="14 Mill Lane, Dublin 2",
    email="dpo@northwind.example",
    telephone="+353 1 555 0101",
)
REPRESENTATIVE = Party(name="N/A", address="-")
PAYROLL_CONTRACT = "https://contracts.northwind.example/payroll-bureau-dpa.pdf"
MAILING_CONTRACT = "https://contracts.northwind.example/mailing-platform-dpa"
HELPDESK_CONTRACT = "https://contracts.northwind.example/helpdesk-dpa"
JOINT_CONTROLLER = "Harbour Foods Ltd, 3 Quay Street, Cork, hello@harbourfoods.example"
PAYROLL = {
    1: "Human resources ",
    2: "Payroll\nPaying staff salaries, expenses and pension contributions.",
    3: "N/A",
    4: "\u2022 Employees\n\u2022 Former employees",
    5: "\u2022 Contact details\n\u2022 Bank details\n\u2022 Salary and tax details",
    6: "Revenue Commissioners; Payroll Bureau Ltd (processor)",
    7: PAYROLL_CONTRACT,
    8: "-",
    9: "-",
    10: "6 years after the end of employment",
    11: "Role-based access to the payroll system; encrypted backups.  ",
    12: "Legal obligation \u2013 Article 6(1)(c)",
    13: "N/A",
    16: "Access, rectification, erasure",
    17: "No",
    18: "The employee",
    19: "-",
    20: "Payroll system, Irish data centre",
    21: "No",
    24: "No",
    28: "https://intranet.northwind.example/retention-policy",
    29: "Yes",
    OWNER: "Head of HR",
}
LOYALTY = {
    1: "Marketing",
    2: "Loyalty card\nRunning the loyalty card we share with Harbour Foods.",
    3: JOINT_CONTROLLER,
    4: "Customers",
    5: "Contact details\nPurchase history ",
    6: "Mailing Platform Inc (processor)",
    7: MAILING_CONTRACT,
    8: "United States",
    9: "Standard contractual clauses with the mailing platform",
    10: "Until the customer leaves the scheme",
    12: "Consent",
    17: "Yes - purchase history is used to tailor offers",
    19: "https://crm.northwind.example/consents",
    21: "Yes - large-scale profiling of customers",
    22: "In progress, awaiting DPO sign-off",
    23: "https://intranet.northwind.example/dpia/loyalty",
    24: "No",
    OWNER: "Marketing manager",
}
SICKNESS = {
    1: "Human resources",
    2: "Sickness absence management",
    3: "-",
    4: "Employees",
    5: "Health data",
    6: "Occupational health provider",
    8: "UK",
    10: "3 years",
    12: "Legal obligation",
    13: "Employment law (Art. 9(2)(b)): statutory sick pay",
    26: "Schedule 1, Part 1, paragraph 1",
    27: "Legal obligation",
}
SUPPORT = {
    1: "Customer service",
    2: "Answering customer enquiries",
    4: "Customers",
    5: "Contact details; Correspondence",
    6: "\u2022 Helpdesk Software Ltd (processor)",
    7: HELPDESK_CONTRACT,
    8: "\u2022 USA (standard contractual clauses)\n\u2022 South Korea",
    10: "2 years after the case is closed, then anonymise",
    12: "Legitimate interests",
    14: "Answering the questions customers ask us",
    15: "https://intranet.northwind.example/lia/support",
    18: "The customer",
    OWNER: "Customer service lead",
}
NORTHWIND = (PAYROLL, LOYALTY, SICKNESS, SUPPORT)


def write_northwind(path, **options):
    """The bakery's filled template at ``path``."""
    return write_filled_template(
        path,
        NORTHWIND,
        controller=CONTROLLER,
        officer=OFFICER,
        representative=REPRESENTATIVE,
        extra_headings=(OWNER,),
        **options,
    )


# ---------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------

# The records an import of the template creates: the parties, the
# activities with their child rows, the catalogue entries.
PARTY_RECORDS = (
    Organisation,
    DataProtectionOfficer,
    JointControllerArrangement,
    ProcessorAgreement,
)
ACTIVITY_RECORDS = (
    ProcessingActivity,
    LawfulBasis,
    InternationalTransfer,
    RetentionRule,
)
CATALOGUE_RECORDS = (DataSubjectCategory, PersonalDataCategory, Recipient)
RECORDS = (*PARTY_RECORDS, *ACTIVITY_RECORDS, *CATALOGUE_RECORDS)


def import_command(path, *options):
    """Run ``import_register`` on ``path`` as the ICO template: (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(
        "import_register",
        str(path),
        "--format",
        "ico",
        *options,
        stdout=out,
        stderr=err,
    )
    return out.getvalue(), err.getvalue()


def refused_import(path, *options):
    """Run an import that must fail: (the error, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_register",
            str(path),
            "--format",
            "ico",
            *options,
            stdout=out,
            stderr=err,
        )
    return str(raised.value), out.getvalue(), err.getvalue()


def export_command(slug, path):
    """Export the template of the controller ``slug`` to ``path``; ``path``."""
    call_command(
        "export_register",
        "--format",
        "ico",
        "--controller",
        slug,
        "--output",
        str(path),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    return path


# ---------------------------------------------------------------------------
# What the register holds, gathered from its records
# ---------------------------------------------------------------------------

# Data fields of no interest to a comparison of two imports.
STAMPS = ("id", "created_at", "updated_at")


def _field_values(instance):
    """Each concrete field of ``instance`` by name; related records by name."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.name in STAMPS:
            continue
        if field.is_relation:
            related = getattr(instance, field.name)
            values[field.name] = None if related is None else str(related)
        else:
            value = getattr(instance, field.attname)
            values[field.name] = (
                value.code if isinstance(field, CountryField) else value
            )
    for field in instance._meta.many_to_many:
        values[field.name] = sorted(
            str(item) for item in getattr(instance, field.name).all()
        )
    return values


def fingerprint():
    """The register as a comparable value: every record by its fields and links."""
    return {
        model._meta.label: sorted(
            repr(sorted(_field_values(instance).items()))
            for instance in model.objects.all()
        )
        for model in RECORDS
    }


def register_text():
    """
    All text of the register's records: text fields, choices as value and
    label, countries as code and name, related records by name, and each
    retention rule's period as a sentence.
    """
    texts = []
    for model in RECORDS:
        for instance in model.objects.all():
            for field in instance._meta.concrete_fields:
                value = getattr(instance, field.name)
                if value is None or isinstance(value, bool):
                    continue
                texts.append(str(value))
                if field.choices and value:
                    texts.append(str(getattr(instance, f"get_{field.name}_display")()))
                if isinstance(field, CountryField) and value:
                    texts.append(value.name)
    for rule in RetentionRule.objects.exclude(period=None):
        texts.append(
            f"{rule.period} {rule.get_period_unit_display()} {rule.trigger}, then "
            f"{rule.end_action}"
        )
    return " \n ".join(texts).casefold()


# Words that say there is nothing, and the answers of yes / no columns,
# which the tests check as the fields they set.
SAYS_NOTHING = {"", "n/a", "-", "yes", "no"}
# Column 8's countries become ISO codes, checked as transfers.
COUNTRIES = 8


def dropped(path, columns):
    """
    The text of the filled cells of the template at ``path`` (its header
    block, and its rows in ``columns``, numbered from 1) that the register
    does not hold: each cell cut into its items (lines, list separators,
    brackets), bullets and spaces removed.
    """
    sheet = load_workbook(path)["Template"]
    text = register_text()
    header_block = [
        cell
        for row in sheet.iter_rows(min_row=3, max_row=SECTION_ROW - 1)
        for cell in row[1:]
    ]
    rows = [
        cell
        for row in sheet.iter_rows(min_row=FIRST_ROW)
        for cell in row
        if cell.column in columns
    ]
    missing = []
    for cell in (*header_block, *rows):
        if not isinstance(cell.value, str):
            continue
        for piece in re.split(r"[\n;,():]", cell.value):
            piece = " ".join(piece.strip(" \u2022-\u2013").split()).casefold()
            if piece in SAYS_NOTHING:
                continue
            if not re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text):
                missing.append((cell.coordinate, piece))
    return missing
