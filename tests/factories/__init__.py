from .controllers import (
    DataProtectionOfficerFactory,
    GroupCompanyFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    ProcessorAgreementFactory,
)
from .memberships import FunctionMembershipFactory
from .ropa import (
    InternationalTransferFactory,
    LawfulBasisFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    RetentionRuleFactory,
    ReviewFactory,
    SecurityMeasureFactory,
)
from .subjects import DataSubjectCategoryFactory, PersonalDataCategoryFactory
from .users import PASSWORD, StaffUserFactory, SuperuserFactory, UserFactory

__all__ = [
    "PASSWORD",
    "DataProtectionOfficerFactory",
    "DataSubjectCategoryFactory",
    "FunctionMembershipFactory",
    "GroupCompanyFactory",
    "InternationalTransferFactory",
    "JointControllerArrangementFactory",
    "LawfulBasisFactory",
    "OrganisationFactory",
    "PersonalDataCategoryFactory",
    "ProcessingActivityFactory",
    "ProcessorAgreementFactory",
    "RecipientFactory",
    "RetentionRuleFactory",
    "ReviewFactory",
    "SecurityMeasureFactory",
    "StaffUserFactory",
    "SuperuserFactory",
    "UserFactory",
]
