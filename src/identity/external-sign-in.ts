import type { AuthService, PublicUser } from '../auth/index.js';
import type { IssuerConfig } from '../config/index.js';
import { ForbiddenError } from '../errors/index.js';
import { type ExternalIdentity, emailDomain } from './claims.js';
import type { IdentityAuditor } from './events.js';
import type { IdentityLinks } from './links.js';

/**
 * Maps a verified external identity to a platform user:
 * - a known (issuer, subject) is its linked user;
 * - otherwise an existing user is linked only when both sides vouch for the address: the token's
 *   email is verified and so is the platform user's (else someone could register an address they
 *   do not own and wait for its owner to sign in);
 * - otherwise, when the issuer allows sign-up, the user is created (customers with their account).
 * Operator users need the token to qualify as operator every time (role claim and domain), so
 * taking the role away at the provider takes effect at the next sign-in.
 */
export function createExternalSignIn(deps: { auth: AuthService; links: IdentityLinks; record: IdentityAuditor }) {
  const { auth, links, record } = deps;

  function refuse(message: string, reason: string, identity: ExternalIdentity, ip: string | undefined): Promise<never> {
    return record({
      action: 'identity.token_refused',
      outcome: 'failure',
      ip,
      details: { issuer: identity.issuer, reason, email: identity.email ?? null },
    }).then(() => {
      throw new ForbiddenError(message);
    });
  }

  async function checkOperator(user: PublicUser, identity: ExternalIdentity, ip: string | undefined): Promise<void> {
    if (user.role === 'operator' && !identity.operator) {
      await refuse(
        `Operators sign in through ${identity.issuer} only with an operator role and an address of an operator domain; ask your identity provider's administrator.`,
        'not_operator',
        identity,
        ip,
      );
    }
  }

  return async function resolveUser(issuer: IssuerConfig, identity: ExternalIdentity, ip: string | undefined): Promise<PublicUser> {
    const linked = await links.find(identity.issuer, identity.subject);
    if (linked) {
      const user = await auth.getUser(linked.user_id);
      await checkOperator(user, identity, ip);
      // Like API keys: a client calling with its token many times a second should not write each time.
      if (!linked.last_used_at || Date.now() - linked.last_used_at.getTime() > 60_000) await links.touch(linked.id, identity.email);
      return user;
    }
    if (!identity.email || !identity.emailVerified) {
      return refuse(
        `${issuer.displayName} did not confirm an email address for this sign-in; confirm your address there and try again.`,
        'email_not_verified',
        identity,
        ip,
      );
    }
    const existing = await auth.findUserByEmail(identity.email);
    if (existing) {
      if (!existing.emailVerified) {
        return refuse(
          `An account uses ${identity.email} but has not confirmed it yet: log in with its password and confirm the address first.`,
          'platform_email_not_verified',
          identity,
          ip,
        );
      }
      await checkOperator(existing, identity, ip);
      await links.link({ userId: existing.id, issuer: identity.issuer, subject: identity.subject, email: identity.email });
      await record({ action: 'identity.linked', user: existing, ip, details: { issuer: identity.issuer, subject: identity.subject } });
      return existing;
    }
    if (!issuer.allowSignUp) {
      return refuse(
        `No account uses ${identity.email} yet and ${issuer.displayName} sign-ups are not open: sign up first, then sign in with ${issuer.displayName}.`,
        'no_account',
        identity,
        ip,
      );
    }
    const name = identity.name ?? identity.email.split('@')[0] ?? identity.email;
    const user = await auth.createExternalUser({
      email: identity.email,
      name,
      role: identity.operator ? 'operator' : 'customer',
      organization: identity.name ? `${identity.name}'s organisation` : emailDomain(identity.email),
    });
    await links.link({ userId: user.id, issuer: identity.issuer, subject: identity.subject, email: identity.email });
    await record({ action: 'identity.signed_up', user, ip, details: { issuer: identity.issuer, role: user.role } });
    await record({ action: 'identity.linked', user, ip, details: { issuer: identity.issuer, subject: identity.subject } });
    return user;
  };
}

export type ResolveExternalUser = ReturnType<typeof createExternalSignIn>;
