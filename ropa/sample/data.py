"""
The sample register's data: the Infobric group's privacy notice as declarations.

The public privacy notice of the Infobric group, "Why do we process your
personal data?" (kept as published in ``ropa/fixtures/sample_notice.txt``),
lists 26 purposes. Each becomes a processing activity: the heading is its name
and notice title, the description (PDF hyphenation repaired) its purpose. The
notice text is that description less the statements the register keeps in
fields of their own, from which the public notice prints them: opt-out,
profiling and joint controllership (the shared customer register always, the
other joint purposes where the companies act jointly). The sharing with
social networking platforms is a recipient.

Where the notice is silent (data subjects, data categories, lawful bases,
retention, security measures, recipients, the companies' contact details),
the values below are plausible ones; ``ropa.sample.loader`` marks them as
samples when it writes them: with ``is_sample`` where the model has it, and
otherwise with a note in the text that starts with ``SAMPLE_VALUE`` (the mark
``ropa.notice`` reads, see ``ropa.notice.SAMPLE_NOTE``). This module holds
plain values only and touches no database, so it can be read, and tested,
without one.
"""

from dataclasses import dataclass

from controllers.enums import DPOEngagement, JointScope
from ropa.enums import (
    DPIAStatus,
    LawfulBasisChoice,
    MeasureArea,
    MeasureType,
    Profiling,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
)
from subjects.enums import CnilGroup, Sensitivity, SpecialCategory

# How a value of a model without an ``is_sample`` field says it is a sample: a
# sentence or line of its text starting with these words.
SAMPLE_VALUE = "Sample value"


@dataclass(frozen=True)
class Officer:
    name: str
    email: str
    phone: str
    address: str
    engagement: str = DPOEngagement.INTERNAL


@dataclass(frozen=True)
class Company:
    name: str
    registration_number: str
    country: str
    address: str
    email: str
    phone: str
    parent: str = ""
    website: str = ""


@dataclass(frozen=True)
class Arrangement:
    reference: str
    name: str
    joint_scope: str
    scope: str
    responsibilities: str
    contact_point: str
    essence: str
    # Parties besides the group companies (``EXTERNAL_ORGANISATIONS`` names).
    other_parties: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectCategory:
    name: str
    description: str
    vulnerable: bool = False


@dataclass(frozen=True)
class DataCategory:
    name: str
    description: str
    examples: str
    # The group of the CNIL's model register (``subjects.enums.CnilGroup``).
    cnil_group: str
    sensitivity: str = Sensitivity.ORDINARY
    special_category: str = ""


@dataclass(frozen=True)
class RecipientEntry:
    name: str
    recipient_type: str
    country: str
    description: str
    organisation: str = ""


@dataclass(frozen=True)
class Measure:
    name: str
    measure_type: str
    area: str
    description: str


@dataclass(frozen=True)
class Basis:
    basis: str
    explanation: str
    legitimate_interest: str = ""
    special_category_condition: str = ""


@dataclass(frozen=True)
class Retention:
    """A retention rule: for one data category, or all data when ``data`` is empty."""

    period: int | None = None
    unit: str = ""
    trigger: str = ""
    data: str = ""
    criteria: str = ""
    end_action: str = RetentionAction.ERASE
    legal_reference: str = ""


@dataclass(frozen=True)
class Activity:
    """
    One purpose of the notice, with what the register adds to it.

    ``text`` is what the notice says of the purpose, less the statements the
    register keeps in fields of their own and the notice prints from them:
    opt-out, profiling and joint controllership. The paragraph on sharing
    with social networking platforms is the recipient of that name.
    """

    title: str
    text: str
    business_function: str
    subjects: tuple[str, ...]
    data: tuple[str, ...]
    bases: tuple[Basis, ...]
    retention: tuple[Retention, ...]
    recipients: tuple[str, ...]
    arrangement: str = ""
    joint_processing: str = ""
    profiling: str = Profiling.NONE
    profiling_description: str = ""
    profiling_in_notice: bool = False
    opt_out: str = ""
    data_source: str = ""
    # Art. 21(2)-(4): the notice states the right to object to direct marketing.
    direct_marketing: bool = False
    # Art. 35: the DPIA screening of a purpose with profiling, as
    # (required, status, reference).
    dpia: tuple[bool, str, str] = (False, "", "")

    @property
    def opt_out_information(self):
        """The opt-out statement, and for direct marketing the Art. 21(2) right."""
        statements = [self.opt_out]
        if self.direct_marketing:
            statements.append(DIRECT_MARKETING_OBJECTION)
        return "\n\n".join(statement for statement in statements if statement)

    @property
    def description(self):
        """The purpose's description, whole, as the notice publishes it."""
        sentences = [self.text, self.opt_out, self.profiling_description]
        if self.arrangement in ALWAYS_JOINT_ARRANGEMENTS:
            sentences.append(always_joint_statement(self.joint_processing))
        return " ".join(sentence for sentence in sentences if sentence)


def always_joint_statement(processing):
    """The notice's statement on a purpose the companies always share."""
    return (
        "The companies are jointly responsible for the processing of your "
        f"personal data in order to {processing}."
    )


# Art. 21(2)-(4): the right to object to direct marketing, including profiling,
# stated clearly and separately from any other information. The seed notice
# only offers the unsubscribe link; the register adds the statement.
DIRECT_MARKETING_OBJECTION = (
    "You have the right to object at any time to the processing of your "
    "personal data for direct marketing, including profiling to the extent "
    "that it is related to direct marketing. If you object, we will no longer "
    "process your personal data for this purpose (Art. 21(2) and (3) GDPR)."
)

# The group's data protection officer and companies. The notice names none of
# them: the registration numbers, addresses and phone numbers are samples, as
# the last line of each address says.

SAMPLE_ADDRESS_NOTE = (
    f"{SAMPLE_VALUE}: the registration number, address and phone number are to "
    "be confirmed."
)

OFFICER = Officer(
    name="Infobric group data protection officer",
    email="dpo@infobric.com",
    phone="+46 8 465 004 00",
    address=f"Järnvägsgatan 12\n262 32 Ängelholm\nSweden\n{SAMPLE_ADDRESS_NOTE}",
)

PARENT = "Infobric AB"

COMPANIES = (
    Company(
        name=PARENT,
        registration_number="556712-4838",
        country="SE",
        address=f"Järnvägsgatan 12\n262 32 Ängelholm\nSweden\n{SAMPLE_ADDRESS_NOTE}",
        email="privacy@infobric.com",
        phone="+46 8 465 004 01",
        website="https://www.infobric.com",
    ),
    Company(
        name="Infobric Ease AB",
        registration_number="556834-0193",
        country="SE",
        address=f"Drottninggatan 25\n111 51 Stockholm\nSweden\n{SAMPLE_ADDRESS_NOTE}",
        email="ease@infobric.com",
        phone="+46 8 465 004 02",
        parent=PARENT,
    ),
    Company(
        name="Infobric Fleet AB",
        registration_number="559102-7353",
        country="SE",
        address=f"Kungsgatan 8\n411 19 Göteborg\nSweden\n{SAMPLE_ADDRESS_NOTE}",
        email="fleet@infobric.com",
        phone="+46 8 465 004 03",
        parent=PARENT,
    ),
    Company(
        name="Infobric Norge AS",
        registration_number="917 423 865",
        country="NO",
        address=f"Karl Johans gate 14\n0154 Oslo\nNorway\n{SAMPLE_ADDRESS_NOTE}",
        email="norge@infobric.com",
        phone="+47 21 99 40 00",
        parent=PARENT,
    ),
    Company(
        name="Infobric Finland Oy",
        registration_number="2841736-9",
        country="FI",
        address=f"Mannerheimintie 12\n00100 Helsinki\nFinland\n{SAMPLE_ADDRESS_NOTE}",
        email="finland@infobric.com",
        phone="+358 9 4245 4000",
        parent=PARENT,
    ),
)

# Joint controllership (Art. 26). The notice states which purposes are joint;
# how the companies share the duties is a sample until the signed arrangement
# is recorded.

SHARED_REGISTER = "JCA-0001"
GROUP_JOINT = "JCA-0002"
PLATFORM_TARGETING = "JCA-0003"

# The social networking platforms the notice shares data with. Where the
# companies use a platform's targeting tools (its pixel, matched audiences),
# the platform and the company are joint controllers for collecting the data
# and transmitting it to the platform (CJEU C-40/17 Fashion ID, paras 76-85;
# EDPB Guidelines 8/2020 on the targeting of social media users): one
# organisation stands for the platforms, which the notice does not name.
PLATFORMS = Company(
    name="Social networking platforms",
    registration_number="",
    country="IE",
    address=f"Dublin\nIreland\n{SAMPLE_VALUE}: the notice names neither the "
    "platforms nor their European establishments.",
    email="",
    phone="",
)
EXTERNAL_ORGANISATIONS = (PLATFORMS,)

SAMPLE_SHARED_DUTIES = (
    "each company keeps the data of its own customers and contacts correct and "
    "informs the data subjects it collects data from (Art. 13 and 14); the "
    "group data protection officer answers requests from data subjects on "
    "behalf of all parties."
)

ARRANGEMENTS = (
    Arrangement(
        reference=SHARED_REGISTER,
        name="Shared customer register",
        joint_scope=JointScope.ALWAYS,
        scope="Managing the shared customer register of the Infobric group "
        "companies, such as registering the contact persons of customers in it.",
        responsibilities="Sample value, to be confirmed against the signed "
        "arrangement: Infobric AB keeps the shared customer register and its "
        f"security; {SAMPLE_SHARED_DUTIES}",
        contact_point=f"{OFFICER.name}, {OFFICER.email}",
        essence=always_joint_statement("manage the shared customer register"),
    ),
    Arrangement(
        reference=GROUP_JOINT,
        name="Joint processing within the Infobric group",
        joint_scope=JointScope.WHEN_JOINT,
        scope="The purposes of the privacy notice for which each company is, as "
        "a starting point, responsible for its own use of personal data, where "
        "the companies carry out the processing jointly.",
        responsibilities="Sample value, to be confirmed against the signed "
        "arrangement: the company that leads the joint processing keeps it and "
        f"its security; {SAMPLE_SHARED_DUTIES}",
        contact_point=f"{OFFICER.name}, {OFFICER.email}",
        essence="Each company covered by this privacy policy is, as a starting "
        "point, responsible for its own use of your personal data. Companies "
        "within the Infobric group are, however, jointly responsible for the use "
        "of your personal data where the companies jointly carry out the "
        "processing, as stated for each purpose.",
    ),
    Arrangement(
        reference=PLATFORM_TARGETING,
        name="Targeted advertising on social networking platforms",
        joint_scope=JointScope.WHEN_JOINT,
        scope="Collecting personal data about your use of our websites and "
        "digital channels with the platforms' targeting tools, and transmitting "
        "it to the platforms, to show you our offers on the platforms. Not the "
        "platforms' own processing after the transmission, for which each "
        "platform alone is responsible.",
        responsibilities=f"{SAMPLE_VALUE}, to be confirmed against the "
        "platforms' controller addenda: the group company that uses the "
        "targeting tool informs the data subjects and obtains any consent "
        "needed; the platform secures the data it receives and answers "
        "requests about its own processing.",
        contact_point=f"{OFFICER.name}, {OFFICER.email}",
        essence="We inform you and ask for any consent needed before the "
        "platforms' tools collect your data on our websites; the platforms "
        "answer for the security of the data they receive and for their own use "
        "of it. You can exercise your rights with us or with the platform. "
        f"{SAMPLE_VALUE}: the terms of the platforms' controller addenda are "
        "to be confirmed.",
        other_parties=(PLATFORMS.name,),
    ),
)

ALWAYS_JOINT_ARRANGEMENTS = frozenset(
    arrangement.reference
    for arrangement in ARRANGEMENTS
    if arrangement.joint_scope == JointScope.ALWAYS
)

# Categories of data subjects (Art. 30(1)(c)): all samples.

CUSTOMER_CONTACTS = "Contact persons at customers"
PROSPECT_CONTACTS = "Contact persons at potential customers"
SUPPLIER_CONTACTS = "Contact persons at suppliers and partners"
CORRESPONDENTS = "External correspondents"
SUBSCRIBERS = "Newsletter subscribers"
VISITORS = "Website visitors"
APP_USERS = "App and service users"
PARTICIPANTS = "Participants in training, events and webinars"
ENQUIRERS = "People who contact us"
RESPONDENTS = "Survey respondents"
RELATIVES = "Relatives of employees and hired staff"
EMPLOYEES = "Employees and hired staff"
LEGAL_PARTIES = "Parties to disputes and legal processes"

SUBJECT_CATEGORIES = (
    SubjectCategory(
        CUSTOMER_CONTACTS,
        "People who represent a customer of a group company, such as buyers, "
        "site managers and administrators.",
    ),
    SubjectCategory(
        PROSPECT_CONTACTS,
        "People who represent a company that may become a customer.",
    ),
    SubjectCategory(
        SUPPLIER_CONTACTS,
        "People who represent a supplier or partner of a group company.",
    ),
    SubjectCategory(
        CORRESPONDENTS,
        "People outside the group who exchange e-mail or messages with our employees.",
    ),
    SubjectCategory(
        SUBSCRIBERS, "People who have signed up for one of our newsletters."
    ),
    SubjectCategory(VISITORS, "People who visit the group companies' websites."),
    SubjectCategory(
        APP_USERS,
        "People with a user account for an app or service of a group company, "
        "such as the Ease CheckIn app.",
    ),
    SubjectCategory(
        PARTICIPANTS,
        "People who sign up for training, an event, an activity or a webinar "
        "that we arrange.",
    ),
    SubjectCategory(
        ENQUIRERS,
        "People who contact a group company by e-mail, phone or a web form.",
    ),
    SubjectCategory(RESPONDENTS, "People who take part in a survey of ours."),
    SubjectCategory(
        RELATIVES,
        "Relatives named by an employee or hired staff member, to be contacted "
        "in the event of an accident, illness or similar event.",
        vulnerable=True,
    ),
    SubjectCategory(
        EMPLOYEES,
        "Employees of a group company and staff hired by it, whose accident or "
        "illness is communicated to their relatives.",
        vulnerable=True,
    ),
    SubjectCategory(
        LEGAL_PARTIES,
        "Counterparties, their representatives and witnesses in a dispute or "
        "legal process.",
    ),
)

# Categories of personal data (Art. 30(1)(c)): all samples, each in the group
# the CNIL's model register lists such data under. One is a special category
# (Art. 9(1), health); none is criminal data (Art. 10).

CONTACT_DETAILS = "Contact details"
PROFESSIONAL_DETAILS = "Employer and role"
ORDER_HISTORY = "Order and purchase history"
INVOICING = "Invoicing details"
DOCUMENTS = "Agreements and business documents"
CORRESPONDENCE = "Correspondence"
PREFERENCES = "Marketing preferences"
INSIGHTS = "Customer insights"
USAGE = "Website and app usage data"
ACCOUNT = "User account details"
PARTICIPATION = "Participation details"
MEETING_NOTES = "Sales meeting notes"
SURVEY_ANSWERS = "Survey responses"
RECORDINGS = "Call and meeting recordings"
LOGS = "Technical log data"
RELATIONSHIP = "Relationship to the employee"
LEGAL_MATTERS = "Dispute and legal process details"
RIGHTS_REQUESTS = "Data protection requests"
HEALTH_EVENT = "Accident or illness of the employee"

DATA_CATEGORIES = (
    DataCategory(
        CONTACT_DETAILS,
        "How to reach the person.",
        "Name, e-mail address, phone number, postal address",
        CnilGroup.IDENTITY,
    ),
    DataCategory(
        PROFESSIONAL_DETAILS,
        "The company the person works for and their position.",
        "Employer, job title, department",
        CnilGroup.PROFESSIONAL_LIFE,
    ),
    DataCategory(
        ORDER_HISTORY,
        "What the person has ordered on behalf of their company.",
        "Orders, products and services, order dates and amounts",
        CnilGroup.ECONOMIC,
    ),
    DataCategory(
        INVOICING,
        "Accounting records of invoices and payments.",
        "Invoice address, invoice references, payment status",
        CnilGroup.ECONOMIC,
    ),
    DataCategory(
        DOCUMENTS,
        "Documents of the business that name the person.",
        "Signed agreements, signatures, minutes, decision documents, presentations",
        CnilGroup.PROFESSIONAL_LIFE,
    ),
    DataCategory(
        CORRESPONDENCE,
        "The content of messages exchanged with the person.",
        "E-mails, messages, questions and answers, support cases",
        CnilGroup.PROFESSIONAL_LIFE,
    ),
    DataCategory(
        PREFERENCES,
        "What the person has asked to receive, or not.",
        "Subscriptions, consents, unsubscriptions, topics of interest",
        CnilGroup.PERSONAL_LIFE,
    ),
    DataCategory(
        INSIGHTS,
        "What analyses infer about customers' behaviour.",
        "Purchase and order patterns, customer segments, interests",
        CnilGroup.PERSONAL_LIFE,
    ),
    DataCategory(
        USAGE,
        "How the person uses our websites, digital channels, apps and services.",
        "IP address, cookie identifiers, device and browser, pages and features "
        "used, settings",
        CnilGroup.CONNECTION,
    ),
    DataCategory(
        ACCOUNT,
        "The person's user account for an app or service.",
        "Username, password hash, account settings, account status",
        CnilGroup.CONNECTION,
    ),
    DataCategory(
        PARTICIPATION,
        "The person's sign-up for and attendance at our arrangements.",
        "Registrations, attendance, the training, event or webinar attended",
        CnilGroup.PROFESSIONAL_LIFE,
    ),
    DataCategory(
        MEETING_NOTES,
        "Bookings and notes of sales meetings.",
        "Meeting times, attendees, notes, agreed follow-ups",
        CnilGroup.PROFESSIONAL_LIFE,
    ),
    DataCategory(
        SURVEY_ANSWERS,
        "The person's views given in a survey.",
        "Answers, ratings, comments",
        CnilGroup.PERSONAL_LIFE,
    ),
    DataCategory(
        RECORDINGS,
        "Recorded phone calls and video meetings.",
        "Recorded voice and video, time and participants of the call",
        CnilGroup.IDENTITY,
    ),
    DataCategory(
        LOGS,
        "Records that IT systems keep of their use and errors.",
        "IP address, time stamps, user identifiers, error reports, security events",
        CnilGroup.CONNECTION,
    ),
    DataCategory(
        RELATIONSHIP,
        "How a relative is related to the employee who named them.",
        "Relationship (such as spouse or parent), the employee concerned",
        CnilGroup.PERSONAL_LIFE,
    ),
    DataCategory(
        LEGAL_MATTERS,
        "Claims, positions and evidence in a dispute or legal process, without "
        "data on criminal offences.",
        "Claims, correspondence with counterparties, court documents",
        CnilGroup.ECONOMIC,
    ),
    DataCategory(
        RIGHTS_REQUESTS,
        "Requests to exercise data protection rights and how they were handled.",
        "The request, its date, the identity check, the answer",
        CnilGroup.IDENTITY,
    ),
    DataCategory(
        HEALTH_EVENT,
        "That an employee has had an accident or fallen ill, and where they "
        "are cared for: data concerning health (Art. 9(1)).",
        "The accident or illness, the hospital, the employee's condition as "
        "far as the relatives are told",
        # The CNIL layout lists it as sensitive from its sensitivity; the group
        # keeps it out of "other data" there.
        CnilGroup.PERSONAL_LIFE,
        sensitivity=Sensitivity.SPECIAL,
        special_category=SpecialCategory.HEALTH,
    ),
)

# Recipients (Art. 30(1)(d)). The notice names social networking platforms
# and "other recipients" for legal requirements and obligations; the other
# entries and all countries are samples. All recipients are in the EEA.

GROUP_COMPANIES = "Infobric group companies"
IT_PROVIDERS = "IT service providers"
MARKETING_PROVIDERS = "Marketing and e-mail service providers"
EVENT_PROVIDERS = "Event and webinar platform providers"
LOGISTICS = "Freight and logistics companies"
SOCIAL_NETWORKS = "Social networking platforms"
AUTHORITIES = "Public authorities"
LEGAL_RECIPIENTS = "Courts, counterparties and legal advisers"
AUDITORS = "Auditors"

SAMPLE_NOTE = "Sample value: the notice does not name this recipient."

RECIPIENTS = (
    RecipientEntry(
        GROUP_COMPANIES,
        RecipientType.INTERNAL,
        # The parent's country: all the companies are in the EEA.
        "SE",
        "The other companies of the Infobric group, in Sweden, Norway and "
        f"Finland (all in the EEA). {SAMPLE_NOTE}",
    ),
    RecipientEntry(
        IT_PROVIDERS,
        RecipientType.PROCESSOR,
        "SE",
        "Hosting, CRM, e-mail, telephony and support tools, acting on our "
        f"instructions under Art. 28 agreements. {SAMPLE_NOTE}",
    ),
    RecipientEntry(
        MARKETING_PROVIDERS,
        RecipientType.PROCESSOR,
        "SE",
        "Send-outs of mailings and newsletters on our instructions under "
        f"Art. 28 agreements. {SAMPLE_NOTE}",
    ),
    RecipientEntry(
        EVENT_PROVIDERS,
        RecipientType.PROCESSOR,
        "SE",
        "Registration and video platforms for training, events and webinars, "
        f"under Art. 28 agreements. {SAMPLE_NOTE}",
    ),
    RecipientEntry(
        LOGISTICS,
        RecipientType.EXTERNAL,
        "SE",
        f"Carriers that deliver ordered goods. {SAMPLE_NOTE}",
    ),
    RecipientEntry(
        SOCIAL_NETWORKS,
        RecipientType.EXTERNAL,
        "IE",
        "Social networks on which we market our offers, through their European "
        "establishments in Ireland; jointly responsible with us where we use "
        f"their targeting tools. {SAMPLE_VALUE}: the notice "
        "names neither the platforms nor their country.",
        organisation=PLATFORMS.name,
    ),
    RecipientEntry(
        AUTHORITIES,
        RecipientType.EXTERNAL,
        "SE",
        'The notice\'s "other recipients" for legal requirements and '
        "obligations, such as the tax and data protection authorities, where "
        f"the law requires. {SAMPLE_NOTE}",
    ),
    RecipientEntry(
        LEGAL_RECIPIENTS,
        RecipientType.EXTERNAL,
        "SE",
        'The notice\'s "other recipients" in a dispute or legal process. '
        f"{SAMPLE_NOTE}",
    ),
    RecipientEntry(
        AUDITORS,
        RecipientType.EXTERNAL,
        "SE",
        f"The group companies' statutory auditors. {SAMPLE_NOTE}",
    ),
)

# Security measures (Art. 32(1)), after the CNIL checklist: all samples, and
# every activity relies on all of them.

MEASURES = (
    Measure(
        "Role-based access and multi-factor authentication",
        MeasureType.TECHNICAL,
        MeasureArea.ACCESS_CONTROL,
        "Access by role and need; personal accounts with multi-factor "
        "authentication; accounts closed when staff leave.",
    ),
    Measure(
        "Logging of access and changes",
        MeasureType.TECHNICAL,
        MeasureArea.TRACEABILITY,
        "Systems log who reads and changes personal data; logs are protected "
        "and reviewed after incidents.",
    ),
    Measure(
        "Patch management and malware protection",
        MeasureType.TECHNICAL,
        MeasureArea.SOFTWARE_PROTECTION,
        "Security updates applied promptly; malware protection on all devices.",
    ),
    Measure(
        "Encrypted daily backups with restore tests",
        MeasureType.TECHNICAL,
        MeasureArea.BACKUPS,
        "Daily backups kept apart from production, encrypted, and restored in "
        "a test at least once a year.",
    ),
    Measure(
        "Encryption in transit and at rest",
        MeasureType.TECHNICAL,
        MeasureArea.ENCRYPTION,
        "TLS for all connections; encrypted databases, disks and laptops.",
    ),
    Measure(
        "Processor agreements and follow-up",
        MeasureType.ORGANISATIONAL,
        MeasureArea.PROCESSOR_CONTROL,
        "Art. 28 agreements with every processor, whose security is reviewed "
        "before use and yearly.",
    ),
    Measure(
        "Access-controlled premises",
        MeasureType.ORGANISATIONAL,
        MeasureArea.PHYSICAL,
        "Offices and server rooms open to authorised staff only.",
    ),
    Measure(
        "Confidentiality undertakings and awareness training",
        MeasureType.ORGANISATIONAL,
        MeasureArea.AWARENESS,
        "Staff sign confidentiality undertakings and take yearly data "
        "protection and security training.",
    ),
    Measure(
        "Vulnerability scanning and penetration tests",
        MeasureType.TECHNICAL,
        MeasureArea.TESTING,
        "Regular scans of systems exposed to the internet and a yearly "
        "penetration test.",
    ),
)

# Retention periods the activities share.

# Accounting records are kept as the law of the company that keeps them says.
# A retention rule belongs to an activity (one per data category), and every
# activity here is carried out by all five companies, so the rule states the
# period of each company in its criteria rather than one period for all.
SWEDISH_BOOKKEEPING_ACT = "Swedish Bookkeeping Act (1999:1078), ch. 7 s. 2"
NORWEGIAN_BOOKKEEPING_ACT = "Norwegian Bookkeeping Act (bokføringsloven), § 13"
FINNISH_ACCOUNTING_ACT = (
    "Finnish Accounting Act (kirjanpitolaki 1336/1997), ch. 2 s. 10"
)
BOOKKEEPING_ACT = (
    f"{SWEDISH_BOOKKEEPING_ACT}; {NORWEGIAN_BOOKKEEPING_ACT}; {FINNISH_ACCOUNTING_ACT}"
)
SWEDISH_ACCOUNTING_PERIOD = (
    "Infobric AB, Infobric Ease AB and Infobric Fleet AB: 7 years after the end "
    "of the calendar year in which the financial year ended "
    f"({SWEDISH_BOOKKEEPING_ACT})."
)
NORWEGIAN_ACCOUNTING_PERIOD = (
    "Infobric Norge AS: 5 years after the end of the financial year "
    f"({NORWEGIAN_BOOKKEEPING_ACT})."
)
FINNISH_ACCOUNTING_PERIOD = (
    "Infobric Finland Oy: vouchers and other accounting records 6 years after "
    "the end of the year in which the financial year ended; the financial "
    "statements and the books 10 years after the end of the financial year "
    f"({FINNISH_ACCOUNTING_ACT})."
)
ACCOUNTING_CRITERIA = " ".join(
    (SWEDISH_ACCOUNTING_PERIOD, NORWEGIAN_ACCOUNTING_PERIOD, FINNISH_ACCOUNTING_PERIOD)
)
KEEP_ACCOUNTING_RECORDS = Retention(
    data=INVOICING,
    criteria=ACCOUNTING_CRITERIA,
    legal_reference=BOOKKEEPING_ACT,
)
LIMITATION_ACT = "Swedish Limitation Act (1981:130), s. 2"
AFTER_RELATIONSHIP = "after the end of the customer, supplier or partner relationship"

# Lawful bases the activities share.

LEGAL_OBLIGATION_ACCOUNTING = Basis(
    LawfulBasisChoice.LEGAL_OBLIGATION,
    f"Accounting records of orders and invoices ({BOOKKEEPING_ACT}).",
)


def _interests(interest, explanation):
    return Basis(LawfulBasisChoice.LEGITIMATE_INTERESTS, explanation, interest)


# The 26 purposes, in the order of the notice. Titles and descriptions are the
# notice's own words; the PDF's hyphenation ("reg-istering") is repaired.

ACTIVITIES = (
    Activity(
        title="To manage orders",
        text=(
            "When you order goods and services, we process your personal "
            "data for the purposes of e.g. registering the order and "
            "communicating with you regarding the order."
        ),
        business_function="Sales",
        subjects=(CUSTOMER_CONTACTS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, ORDER_HISTORY, INVOICING),
        bases=(
            _interests(
                "Handling the orders that the customer company, which the "
                "person represents, places with us.",
                "The contact person acts for the customer company, which is the "
                "party to the contract.",
            ),
            LEGAL_OBLIGATION_ACCOUNTING,
        ),
        retention=(
            Retention(3, RetentionUnit.YEARS, "after the last order"),
            KEEP_ACCOUNTING_RECORDS,
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS, LOGISTICS),
    ),
    Activity(
        title="To manage relationships with customers, suppliers, and partners",
        text=(
            "If you are the contact person for a customer, supplier, or "
            "partner for a company within the Infobric group, we process "
            "your personal data in order to manage the customer or supplier "
            "relationship or co-operation, such as in order to register you "
            "as a contact person, manage and archive agreements, and "
            "administer invoices."
        ),
        business_function="Sales",
        subjects=(CUSTOMER_CONTACTS, SUPPLIER_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, DOCUMENTS, INVOICING),
        bases=(
            _interests(
                "Managing the relationship with the customer, supplier or "
                "partner that the person represents.",
                "The contact person acts for the company that is the party to "
                "the agreement.",
            ),
            LEGAL_OBLIGATION_ACCOUNTING,
        ),
        retention=(
            Retention(2, RetentionUnit.YEARS, AFTER_RELATIONSHIP),
            Retention(
                10,
                RetentionUnit.YEARS,
                "after the end of the agreement",
                data=DOCUMENTS,
                end_action=RetentionAction.ARCHIVE,
                legal_reference=LIMITATION_ACT,
            ),
            KEEP_ACCOUNTING_RECORDS,
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
    ),
    Activity(
        title="To manage a shared customer register",
        text=(
            "Companies within the Infobric group have a shared customer "
            "register. If you are the contact person for a customer that is "
            "included in the shared customer register, the companies process "
            "your personal data in order to manage the shared customer "
            "register, such as to register you as a contact person in the "
            "shared customer register."
        ),
        business_function="Sales",
        subjects=(CUSTOMER_CONTACTS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS),
        bases=(
            _interests(
                "One correct and up-to-date register of customer contacts for "
                "all group companies.",
                "The register holds business contact details only.",
            ),
        ),
        retention=(
            Retention(
                2, RetentionUnit.YEARS, "after the end of the customer relationship"
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=SHARED_REGISTER,
        joint_processing="manage the shared customer register",
        data_source="The group companies that have the customer.",
    ),
    Activity(
        title=(
            "To follow up on and evaluate relationships with customers, "
            "suppliers, and partners"
        ),
        text=(
            "We process the personal data of contact people for a customer, "
            "supplier, or partner for a company within the Infobric group "
            "where this is necessary for following up and evaluating "
            "customer or supplier relationships or co-operation."
        ),
        business_function="Sales",
        subjects=(CUSTOMER_CONTACTS, SUPPLIER_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, ORDER_HISTORY),
        bases=(
            _interests(
                "Following up and evaluating customer, supplier and partner "
                "relationships to improve the co-operation.",
                "Limited to what is needed for the evaluation.",
            ),
        ),
        retention=(Retention(2, RetentionUnit.YEARS, AFTER_RELATIONSHIP),),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct follow-ups and evaluations",
    ),
    Activity(
        title="To conduct analyses to produce customer insights",
        text=(
            "We use your personal data in order to conduct analyses to "
            "produce customer insights. This is so that we can gain a better "
            "understanding of an insight into our customers\u2019 behaviour and "
            "patterns, such as their purchase and order patterns, and "
            "thereby adapt what we offer at the customer level."
        ),
        business_function="Marketing",
        subjects=(CUSTOMER_CONTACTS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, ORDER_HISTORY, INSIGHTS),
        bases=(
            _interests(
                "Understanding customers' purchase and order patterns to adapt "
                "what we offer.",
                "The analyses concern customer companies; no automated "
                "decisions are taken about individuals.",
            ),
        ),
        retention=(
            Retention(
                2,
                RetentionUnit.YEARS,
                "after the end of the customer relationship",
                end_action=RetentionAction.ANONYMISE,
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct analyses in order to produce customer insights",
        profiling=Profiling.PROFILING,
        profiling_description=(
            "Although some profiling of your data may take place, we do not, "
            "however, undertake profiling for so-called automated "
            "decision-making that has legal consequences or otherwise affects "
            "you significantly."
        ),
        profiling_in_notice=True,
        data_source="The order and purchase records of the group companies.",
        dpia=(
            False,
            "",
            f"{SAMPLE_VALUE}: screening SCR-0005 met one criterion of WP248 "
            "rev.01 (profiling of business contacts, no automated decisions): "
            "no DPIA required.",
        ),
    ),
    Activity(
        title="To communicate about us and our business",
        text=(
            "We use your personal data to communicate about us and our "
            "business in various channels."
        ),
        business_function="Communications",
        subjects=(CUSTOMER_CONTACTS, PROSPECT_CONTACTS, SUPPLIER_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, PREFERENCES),
        bases=(
            _interests(
                "Informing customers, partners and others about the group and "
                "its business.",
                "Business contacts can unsubscribe from every mailing.",
            ),
        ),
        retention=(
            Retention(
                2,
                RetentionUnit.YEARS,
                "after the last interaction, or at once on unsubscribing",
            ),
        ),
        recipients=(GROUP_COMPANIES, MARKETING_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="communicate about the Infobric group and its operations",
        opt_out=(
            "You can unsubscribe from mailings at any time by clicking on the "
            "unsubscribe link in these mailings or by contacting us."
        ),
        direct_marketing=True,
    ),
    Activity(
        title="To enable communication between employees and external parties",
        text=(
            "In connection with communication, such as by e-mail and between "
            "employees and external parties, we process personal data when "
            "applicable."
        ),
        business_function="Group-wide",
        subjects=(CORRESPONDENTS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, CORRESPONDENCE),
        bases=(
            _interests(
                "Corresponding with customers, suppliers, partners and others "
                "in the course of business.",
                "Messages are kept only as long as the matter needs them.",
            ),
        ),
        retention=(
            Retention(
                2, RetentionUnit.YEARS, "after the last message in the conversation"
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
    ),
    Activity(
        title="To communicate offers and marketing via various channels",
        text=(
            "We process your personal data for marketing purposes and to "
            "communicate offers from us and our partners via various digital "
            "channels, such as e-mail or social media."
        ),
        business_function="Marketing",
        subjects=(CUSTOMER_CONTACTS, PROSPECT_CONTACTS, VISITORS, APP_USERS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, PREFERENCES, USAGE, INSIGHTS),
        bases=(
            _interests(
                "Direct marketing of our and our partners' offers to business "
                "contacts (recital 47).",
                "Business contacts can unsubscribe from every mailing.",
            ),
            Basis(
                LawfulBasisChoice.CONSENT,
                "Consent to marketing cookies, for analysing the use of our "
                "websites and digital channels.",
            ),
        ),
        retention=(
            Retention(
                2,
                RetentionUnit.YEARS,
                "after the last interaction, or at once on unsubscribing",
            ),
            Retention(
                13, RetentionUnit.MONTHS, "after the data was collected", data=USAGE
            ),
        ),
        recipients=(GROUP_COMPANIES, MARKETING_PROVIDERS, SOCIAL_NETWORKS),
        arrangement=GROUP_JOINT,
        joint_processing=(
            "conduct marketing and communicate what they have to offer via "
            "various channels and to conduct analyses of your personal data "
            "for the same purpose"
        ),
        profiling=Profiling.PROFILING,
        profiling_description=(
            "For this purpose, some profiling of your data may take place by "
            "analysing your use of our websites, digital channels, apps, and "
            "services. We do not, however, undertake profiling for so-called "
            "automated decision-making that has legal consequences or "
            "otherwise affects you significantly."
        ),
        profiling_in_notice=True,
        opt_out=(
            "You can unsubscribe from mailings at any time by clicking on the "
            "unsubscribe link in these mailings."
        ),
        direct_marketing=True,
        dpia=(
            True,
            DPIAStatus.COMPLETED,
            f"{SAMPLE_VALUE}: screening SCR-0008 met two criteria of WP248 "
            "rev.01 (profiling; data combined with the platforms'): DPIA "
            "DPIA-0001 carried out.",
        ),
    ),
    Activity(
        title="Conduct sales meetings",
        text=(
            "If you are the contact person for an existing or potential "
            "customer, we use your personal data in connection with "
            "conducting sales meetings, both physical and digital, such as "
            "in order to book sales meetings and follow-up on them "
            "afterwards."
        ),
        business_function="Sales",
        subjects=(CUSTOMER_CONTACTS, PROSPECT_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, MEETING_NOTES),
        bases=(
            _interests(
                "Booking and following up sales meetings with existing and "
                "potential customers.",
                "The person represents a company in its business contacts.",
            ),
        ),
        retention=(Retention(2, RetentionUnit.YEARS, "after the last meeting"),),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct sales meetings",
    ),
    Activity(
        title="To manage our newsletters",
        text=(
            "We process your personal data to manage our newsletter, e.g. in "
            "order to send out the newsletter."
        ),
        business_function="Marketing",
        subjects=(SUBSCRIBERS,),
        data=(CONTACT_DETAILS, PREFERENCES),
        bases=(
            Basis(
                LawfulBasisChoice.CONSENT,
                "The subscriber's consent when signing up for the newsletter.",
            ),
        ),
        retention=(Retention(30, RetentionUnit.DAYS, "after unsubscribing"),),
        recipients=(MARKETING_PROVIDERS,),
        opt_out=(
            "You can unsubscribe from mailings at any time by clicking on the "
            "unsubscribe link in the newsletter."
        ),
        direct_marketing=True,
    ),
    Activity(
        title="To follow up on and evaluate the business",
        text=(
            "We use your personal data to compile reports at a general level "
            "and statistics in order to follow up on and evaluate the "
            "business."
        ),
        business_function="Management",
        subjects=(CUSTOMER_CONTACTS, SUPPLIER_CONTACTS),
        data=(PROFESSIONAL_DETAILS, ORDER_HISTORY),
        bases=(
            _interests(
                "Reports and statistics to follow up on and evaluate the business.",
                "Reports are at a general level and name no individuals.",
            ),
        ),
        retention=(
            Retention(
                2,
                RetentionUnit.YEARS,
                "after the report is compiled",
                end_action=RetentionAction.ANONYMISE,
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct follow-ups and evaluations",
        data_source="The order and customer records of the group companies.",
    ),
    Activity(
        title="To develop and improve the business",
        text=(
            "We use your personal data when we conduct general analyses to "
            "develop and improve our business, our business methods, and our "
            "strategies."
        ),
        business_function="Management",
        subjects=(CUSTOMER_CONTACTS, APP_USERS),
        data=(PROFESSIONAL_DETAILS, ORDER_HISTORY, USAGE),
        bases=(
            _interests(
                "Developing and improving the business, its methods and strategies.",
                "General analyses without profiling.",
            ),
        ),
        retention=(
            Retention(
                2,
                RetentionUnit.YEARS,
                "after the analysis",
                end_action=RetentionAction.ANONYMISE,
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing=(
            "conduct overall analyses in order to develop and improve the business"
        ),
        profiling_description=(
            "No profiling take place within the scope of this processing."
        ),
        profiling_in_notice=True,
        data_source="The order and usage records of the group companies.",
    ),
    Activity(
        title="To document the business",
        text=(
            "We use your personal data to document our business, where "
            "applicable, such as in order to manage and save agreements, "
            "documents for decision-making, minutes, and presentations."
        ),
        business_function="Management",
        subjects=(CUSTOMER_CONTACTS, SUPPLIER_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, DOCUMENTS),
        bases=(
            _interests(
                "Documenting the agreements, decisions and history of the business.",
                "Documents name people only in their business role.",
            ),
        ),
        retention=(
            Retention(
                10,
                RetentionUnit.YEARS,
                "after the end of the agreement or the decision documented",
                end_action=RetentionAction.ARCHIVE,
                legal_reference=LIMITATION_ACT,
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
    ),
    Activity(
        title="To carry out training, events, and other activities",
        text=(
            "When you sign up for training, an event, or other activity that "
            "we arrange, we process your personal data in order to carry out "
            "the training, event, or activity, such as to register your "
            "participation or to communicate with you about the training, "
            "event, or activity."
        ),
        business_function="Training and events",
        subjects=(PARTICIPANTS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, PARTICIPATION),
        bases=(
            _interests(
                "Carrying out the training, events and activities that people "
                "sign up for.",
                "Participants sign up themselves, mostly on behalf of their employer.",
            ),
        ),
        retention=(Retention(1, RetentionUnit.YEARS, "after the event"),),
        recipients=(GROUP_COMPANIES, EVENT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct training, events, and other activities",
    ),
    Activity(
        title="Conduct webinars",
        text=(
            "If you register for a webinar that we arrange, we use your "
            "personal data to conduct the webinar, such as in order to "
            "register your participation and communicate with you about the "
            "webinar."
        ),
        business_function="Marketing",
        subjects=(PARTICIPANTS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, PARTICIPATION),
        bases=(
            _interests(
                "Conducting the webinars that people register for.",
                "Participants register themselves.",
            ),
        ),
        retention=(Retention(1, RetentionUnit.YEARS, "after the webinar"),),
        recipients=(GROUP_COMPANIES, EVENT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct webinars",
    ),
    Activity(
        title="To answer questions and provide customer service",
        text=(
            "If you contact us, such as by e-mail or phone, we process the "
            "personal data you provide us with in order to answer your "
            "question and, if the company or organisation you belong to is a "
            "customer of ours, to provide customer service."
        ),
        business_function="Customer service",
        subjects=(ENQUIRERS, CUSTOMER_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, CORRESPONDENCE),
        bases=(
            _interests(
                "Answering questions and providing customer service.",
                "The person contacts us and expects an answer.",
            ),
        ),
        retention=(Retention(2, RetentionUnit.YEARS, "after the case is closed"),),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing=(
            "process your personal data in order to answer questions or "
            "provide customer service"
        ),
    ),
    Activity(
        title="To conduct surveys",
        text=(
            "We process your personal data if you take part in a survey that "
            "we carry out, such as in our digital channels or mailings, for "
            "the purpose of collecting your views on our business, products, "
            "and services."
        ),
        business_function="Marketing",
        subjects=(RESPONDENTS,),
        data=(CONTACT_DETAILS, SURVEY_ANSWERS),
        bases=(
            _interests(
                "Collecting views on our business, products and services to "
                "improve them.",
                "Taking part is voluntary.",
            ),
        ),
        retention=(
            Retention(
                1,
                RetentionUnit.YEARS,
                "after the survey closes",
                end_action=RetentionAction.ANONYMISE,
            ),
        ),
        recipients=(GROUP_COMPANIES, MARKETING_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing="conduct surveys",
    ),
    Activity(
        title="To provide our apps and services",
        text=(
            "If you have registered a user account for an app or service "
            "provided by a company within the Infobric group and which makes "
            "reference to this policy, such as the Ease CheckIn app, we "
            "process your personal data to provide the app or service to "
            "you, e.g. in order to give you access to the app or service and "
            "in order to manage your user account. You need to provide the "
            "information we request when you register your user account. If "
            "not, you may be unable to use the app or service."
        ),
        business_function="Digital services",
        subjects=(APP_USERS,),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, ACCOUNT),
        bases=(
            Basis(
                LawfulBasisChoice.CONTRACT,
                "The terms of use the user accepts when registering a user account.",
            ),
        ),
        retention=(
            Retention(1, RetentionUnit.YEARS, "after the user account is closed"),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
    ),
    Activity(
        title="To communicate about our apps and services",
        text=(
            "If you use our apps and services, we process your personal data "
            "to communicate with you regarding these apps and services, such "
            "as to tell you about updates to the app or service, to provide "
            "operational information, or to answer questions that you have "
            "about the app or service."
        ),
        business_function="Digital services",
        subjects=(APP_USERS,),
        data=(CONTACT_DETAILS, ACCOUNT, CORRESPONDENCE),
        bases=(
            Basis(
                LawfulBasisChoice.CONTRACT,
                "Operational information and answers are part of providing the "
                "app or service under its terms of use.",
            ),
        ),
        retention=(
            Retention(1, RetentionUnit.YEARS, "after the user account is closed"),
        ),
        recipients=(IT_PROVIDERS, MARKETING_PROVIDERS),
    ),
    Activity(
        title="To enable functionality on our websites",
        text=(
            "We process your personal data where this is necessary in order "
            "to provide functionality on our websites, such as in order to "
            "remember your settings. This enables us to provide a better "
            "user experience on our websites."
        ),
        business_function="Digital services",
        subjects=(VISITORS,),
        data=(USAGE,),
        bases=(
            _interests(
                "Websites that work and remember visitors' settings.",
                "Only cookies strictly necessary for the functions the visitor uses.",
            ),
        ),
        retention=(Retention(12, RetentionUnit.MONTHS, "after the last visit"),),
        recipients=(IT_PROVIDERS,),
    ),
    Activity(
        title=(
            "To follow up on and evaluate the use of our websites, digital "
            "channels, apps, and services"
        ),
        text=(
            "If you use our websites, digital channels, or apps and services "
            "that make reference to this policy, we use your personal data "
            "in order to follow up and evaluate the use of our digital "
            "channels, apps, and services, such as in order to collect and "
            "analyse visitor and user statistics on how you use our "
            "websites, digital channels, apps, and services."
        ),
        business_function="Digital services",
        subjects=(VISITORS, APP_USERS),
        data=(USAGE,),
        bases=(
            Basis(
                LawfulBasisChoice.CONSENT,
                "Consent to statistics cookies on our websites.",
            ),
            _interests(
                "Following up and improving the use of our apps and services.",
                "Usage statistics of the apps and services, without cookies.",
            ),
        ),
        retention=(
            Retention(
                13,
                RetentionUnit.MONTHS,
                "after the data was collected",
                end_action=RetentionAction.ANONYMISE,
            ),
        ),
        recipients=(GROUP_COMPANIES, IT_PROVIDERS),
        arrangement=GROUP_JOINT,
        joint_processing=(
            "follow up on and evaluate the use of our websites, digital "
            "channels, apps, and services"
        ),
    ),
    Activity(
        title=(
            "To record phone calls and video meetings for training and quality purposes"
        ),
        text=(
            "If you contact us by phone, we may, if applicable, record the "
            "phone call or video meeting for training and quality purposes."
        ),
        business_function="Customer service",
        subjects=(ENQUIRERS, CUSTOMER_CONTACTS),
        data=(CONTACT_DETAILS, RECORDINGS),
        bases=(
            _interests(
                "Training staff and assuring the quality of calls and meetings.",
                "Callers are told of the recording and can opt out of it.",
            ),
        ),
        retention=(Retention(3, RetentionUnit.MONTHS, "after the call or meeting"),),
        recipients=(IT_PROVIDERS,),
        opt_out=(
            "In such cases, you will be informed of this when you call or join "
            "the meeting and you can choose to opt out of having your call or "
            "meeting recorded for this purpose."
        ),
    ),
    Activity(
        title="To ensure necessary technical functionality and security",
        text=(
            "We use your personal data to ensure the necessary technical "
            "functionality and security of our websites, apps, services, and "
            "IT systems, such as for security logging, error handling, and "
            "back-ups."
        ),
        business_function="IT",
        subjects=(VISITORS, APP_USERS, CORRESPONDENTS),
        data=(LOGS,),
        bases=(
            _interests(
                "Keeping websites, apps, services and IT systems secure and "
                "working (recital 49).",
                "Logs are read only to handle errors and security events.",
            ),
        ),
        retention=(Retention(12, RetentionUnit.MONTHS, "after the event logged"),),
        recipients=(IT_PROVIDERS,),
    ),
    Activity(
        title="To communicate in the event of an accident, illness, or similar event",
        text=(
            "We use your personal data to communicate with you in the event "
            "of an accident, illness, or similar incident concerning an "
            "employee or other staff hired by us in order to, among other "
            "things, register your information in our relatives register."
        ),
        business_function="Human resources",
        subjects=(RELATIVES, EMPLOYEES),
        data=(CONTACT_DETAILS, RELATIONSHIP, HEALTH_EVENT),
        bases=(
            Basis(
                LawfulBasisChoice.VITAL_INTERESTS,
                "Telling the relatives of an employee who has had an accident or "
                "fallen ill, when the employee cannot tell them.",
                special_category_condition=SpecialCategoryCondition.VITAL_INTERESTS,
            ),
            _interests(
                "Reaching an employee's relatives quickly in an emergency.",
                "The employee chooses whom to name.",
            ),
        ),
        retention=(
            Retention(
                criteria="Kept while the employment or assignment lasts; erased "
                "when it ends or when the employee names someone else.",
            ),
        ),
        recipients=(IT_PROVIDERS,),
        data_source="The employee or hired staff member who names the relative.",
    ),
    Activity(
        title="To manage and adhere to legal requirements",
        text=(
            "We process your personal data if this is necessary in order to "
            "manage and meet a legal requirement, such as in connection with "
            "a dispute or legal process. For this purpose, we may share "
            "certain information with other recipients. Please see below for "
            "more information."
        ),
        business_function="Legal",
        subjects=(LEGAL_PARTIES, CUSTOMER_CONTACTS, SUPPLIER_CONTACTS),
        data=(CONTACT_DETAILS, PROFESSIONAL_DETAILS, CORRESPONDENCE, LEGAL_MATTERS),
        bases=(
            _interests(
                "Establishing, exercising or defending legal claims.",
                "Only the data the dispute or legal process needs.",
            ),
        ),
        retention=(
            Retention(
                10,
                RetentionUnit.YEARS,
                "after the matter is finally settled",
                legal_reference=LIMITATION_ACT,
            ),
        ),
        recipients=(LEGAL_RECIPIENTS, AUTHORITIES, GROUP_COMPANIES),
        data_source="Counterparties, courts, authorities and legal advisers.",
    ),
    Activity(
        title="To fulfil legal obligations",
        text=(
            "In order to fulfil our legal obligations, if necessary we will "
            "process your personal data, for example, in order to fulfil "
            "accounting or data protection requirements. For this purpose, "
            "we may share certain information with other recipients. Please "
            "see below for more information."
        ),
        business_function="Finance",
        subjects=(CUSTOMER_CONTACTS, SUPPLIER_CONTACTS, ENQUIRERS),
        data=(CONTACT_DETAILS, INVOICING, RIGHTS_REQUESTS),
        bases=(
            Basis(
                LawfulBasisChoice.LEGAL_OBLIGATION,
                f"Accounting ({BOOKKEEPING_ACT}) and data protection (GDPR "
                "Art. 12-22, 30 and 33) requirements.",
            ),
        ),
        retention=(
            Retention(criteria=ACCOUNTING_CRITERIA, legal_reference=BOOKKEEPING_ACT),
            Retention(
                3,
                RetentionUnit.YEARS,
                "after the request is closed",
                data=RIGHTS_REQUESTS,
            ),
        ),
        recipients=(AUTHORITIES, AUDITORS, IT_PROVIDERS),
    ),
)


def reference_for(position):
    """The register reference of the notice's ``position``-th purpose (from 1)."""
    return f"PA-{position:04d}"
