"""Closed vocabularies of the inbound contract (the open, local ones live in ``mappings/``)."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Yhteydenottotapa: how the contact reached the guidance unit."""

    PHONE = "phone"
    CALLBACK = "callback"
    CHAT = "chat"
    ELECTRONIC_FORM = "electronic_form"
    WALK_IN = "walk_in"
    SECURE_EMAIL = "secure_email"
    OUTREACH = "outreach"


class ContactedBy(StrEnum):
    """Yhteydenottaja: who made the contact."""

    CLIENT = "client"
    RELATIVE = "relative"
    AUTHORITY = "authority"
    PROFESSIONAL = "professional"
    ANONYMOUS = "anonymous"


class AuthorityKind(StrEnum):
    """Which authority or professional body made the contact (school, police, Kela, ...)."""

    SCHOOL = "school"
    EARLY_CHILDHOOD_EDUCATION = "early_childhood_education"
    POLICE = "police"
    KELA = "kela"
    HEALTH_CARE = "health_care"
    SOCIAL_CARE = "social_care"
    EMPLOYMENT_SERVICES = "employment_services"
    EMERGENCY_SERVICES = "emergency_services"
    OTHER = "other"


class Profession(StrEnum):
    """The guidance worker's profession (ammattihenkilö)."""

    SOCIAL_WORKER = "social_worker"
    SOCIAL_INSTRUCTOR = "social_instructor"
    SERVICE_COORDINATOR = "service_coordinator"
    NURSE = "nurse"
    PUBLIC_HEALTH_NURSE = "public_health_nurse"
    PHYSICIAN = "physician"
    OTHER = "other"


class Urgency(StrEnum):
    URGENT = "urgent"
    NON_URGENT = "non_urgent"


class ReporterType(StrEnum):
    """Who reports a child welfare concern (Lastensuojelulaki 25 §)."""

    PRIVATE_PERSON = "private_person"
    ANONYMOUS = "anonymous"
    SCHOOL = "school"
    EARLY_CHILDHOOD_EDUCATION = "early_childhood_education"
    POLICE = "police"
    HEALTH_CARE = "health_care"
    SOCIAL_CARE = "social_care"
    OTHER_AUTHORITY = "other_authority"


class ConsentForm(StrEnum):
    """How a consent was given: Kela Y100 signed on paper, electronically, or verbally (one transaction only)."""

    SIGNED_Y100 = "signed_y100"
    ELECTRONIC = "electronic"
    VERBAL = "verbal"


class ConsentParty(StrEnum):
    """The parties a Y100 consent names."""

    KELA = "kela"
    SOCIAL_CARE = "social_care"
    HEALTH_CARE = "health_care"
    EMPLOYMENT_SERVICES = "employment_services"
    THIRD_SECTOR = "third_sector"


class DataCategory(StrEnum):
    """Data categories a consent covers; special categories (GDPR art. 9) are named explicitly."""

    IDENTITY_AND_CONTACT = "identity_and_contact"
    SOCIAL_CARE = "social_care"
    HEALTH = "health"
    FINANCIAL = "financial"
    EMPLOYMENT = "employment"
    BENEFITS = "benefits"


class Notification(StrEnum):
    """How Kela reminds the client of a phone appointment."""

    SMS = "sms"
    EMAIL = "email"
    NONE = "none"
