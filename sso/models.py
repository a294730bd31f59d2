"""A municipality's own identity provider (OpenID Connect) and what its claims mean here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, Tenant

# Sweden's level of assurance 3 (eLegitimationsnämnden): SITHS eID and BankID reach it.
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"


class IdentityProvider(models.Model):
    """Staff log in with their municipality's (or alarm centre's) own identity provider.

    The provider is trusted only for what it is configured for here: the roles in the
    tenants its mappings name, and a second factor only when its ``acr`` or ``amr``
    says so.
    """

    slug = models.SlugField(_("short name"), unique=True, help_text=_("Part of the login address: /sso/<short name>/"))
    name = models.CharField(_("name"), max_length=200, help_text=_("Shown on the login button."))
    issuer = models.URLField(
        _("issuer"),
        max_length=500,
        help_text=_("The provider's issuer URL; its configuration is read from /.well-known/openid-configuration."),
    )
    client_id = models.CharField(_("client ID"), max_length=200)
    client_secret_encrypted = models.TextField(blank=True)
    scopes = models.CharField(_("scopes"), max_length=300, default="openid profile")
    roles_claim = models.CharField(
        _("group claim"), max_length=100, default="roles", help_text=_("The claim that lists the user's groups.")
    )
    tenant_claim = models.CharField(
        _("municipality claim"),
        max_length=100,
        blank=True,
        help_text=_("Optional: the claim that names the user's municipality, for mappings that depend on it."),
    )
    mfa_acr_values = models.TextField(
        _("acr values that prove multi-factor login"),
        blank=True,
        default=LOA3,
        help_text=_("One per line. A login whose acr is one of these, or whose amr says mfa, counts as multi-factor."),
    )
    ask_own_second_factor = models.BooleanField(
        _("ask for Nattillsyn's own second factor otherwise"),
        default=False,
        help_text=_(
            "When the provider does not vouch for a second factor: ask for the authenticator app or security key "
            "registered here. Unticked, such a login is refused."
        ),
    )
    reauthenticate = models.BooleanField(
        _("log in at the provider every time"),
        default=True,
        help_text=_(
            "Ask the provider to authenticate the user again at every login (prompt=login) and refuse a login "
            "older than that. On a shared computer in a night office, the previous user's session at the "
            "provider must not log the next person in."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")

    def __str__(self) -> str:
        return self.name

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def accepted_acr_values(self) -> set[str]:
        return {line.strip() for line in self.mfa_acr_values.splitlines() if line.strip()}


class ClaimMapping(models.Model):
    """A group (and, optionally, a municipality) named by the provider gives a role in a tenant."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="mappings")
    group = models.CharField(_("group"), max_length=200, help_text=_("A value of the group claim."))
    tenant_claim_value = models.CharField(
        _("municipality claim value"),
        max_length=200,
        blank=True,
        help_text=_("Empty: any. Otherwise the municipality claim must have this value too."),
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("claim mapping")
        verbose_name_plural = _("claim mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "group", "tenant_claim_value", "tenant", "role"], name="unique_claim_mapping"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} → {self.tenant} – {self.get_role_display()}"


class ExternalIdentity(models.Model):
    """A user as the identity provider knows them: linked by its subject, never by name or e-mail."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.PROTECT, related_name="identities")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    created_at = models.DateTimeField()
    last_login_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="unique_external_identity")]

    def __str__(self) -> str:
        return f"{self.provider.slug}:{self.subject}"
