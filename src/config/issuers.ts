import { z } from 'zod';

/**
 * External identity providers (OIDC issuers, Supabase Auth) whose tokens the platform accepts.
 * Declared here, with every other setting, so a bad issuer stops start-up with the variable named;
 * `identity/` only reads the parsed shape. docs/operations/identity.md describes each field.
 */

const claimPath = z
  .string()
  .regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, 'must be a claim name or a dotted path such as user_metadata.full_name');

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const issuerInputSchema = z
  .object({
    /** Short name used in URLs (`/auth/oidc/<name>/start`) and in the audit log. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes (at most 40)'),
    /** What the dashboard shows: "Sign in with <displayName>". */
    displayName: z.string().min(1).max(60).optional(),
    /** `supabase`: fills issuer, JWKS URL, audience and claims from `projectUrl`. */
    preset: z.enum(['supabase']).optional(),
    /** Supabase project URL (https://<ref>.supabase.co), with `preset: "supabase"`. */
    projectUrl: z.url().optional(),
    issuer: z.url().optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Where the signing keys are; without it they are found through OIDC discovery of `issuer`. */
    jwksUrl: z.url().optional(),
    /**
     * Symmetric (HS256) tokens, e.g. a Supabase project still on its legacy JWT secret. Only
     * with this explicit setting does the issuer accept HS256, and then nothing else.
     */
    hs256Secret: z.string().min(32, 'must be at least 32 characters (the project JWT secret)').optional(),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).optional(),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /** Seconds between two JWKS fetches for an unknown key id (a key rotated at the provider). */
    jwksCooldownSeconds: z.number().int().min(0).max(3600).default(30),
    claims: z
      .object({
        email: claimPath.default('email'),
        emailVerified: claimPath.default('email_verified'),
        name: claimPath.default('name'),
        role: claimPath.optional(),
      })
      .strict()
      .default({ email: 'email', emailVerified: 'email_verified', name: 'name' }),
    /** The provider only issues tokens for confirmed addresses: treat every email as verified. */
    trustEmail: z.boolean().default(false),
    /** Values of the role claim that ask for operator rights (granted only within `operatorEmailDomains`). */
    operatorRoles: z.array(z.string().min(1)).default([]),
    operatorEmailDomains: z.array(z.string().regex(/^[a-z0-9.-]+$/i, 'must be a domain name')).default([]),
    /** First sign-in creates the user (and, for customers, their account). */
    allowSignUp: z.boolean().default(false),
    /** Dashboard sign-in through the authorization code flow with PKCE (needs discovery). */
    codeFlow: z
      .object({
        clientId: z.string().min(1),
        /** Absent for a public client (PKCE only). */
        clientSecret: z.string().min(1).optional(),
        scopes: z.string().default('openid email profile'),
      })
      .strict()
      .optional(),
  })
  .strict();

export interface IssuerConfig {
  name: string;
  displayName: string;
  issuer: string;
  audience: string[];
  jwksUrl: string | undefined;
  hs256Secret: string | undefined;
  algorithms: string[];
  clockToleranceSeconds: number;
  jwksCooldownSeconds: number;
  claims: { email: string; emailVerified: string; name: string; role: string | undefined };
  trustEmail: boolean;
  operatorRoles: string[];
  operatorEmailDomains: string[];
  allowSignUp: boolean;
  codeFlow: { clientId: string; clientSecret: string | undefined; scopes: string } | undefined;
}

/** Fills a preset and checks what depends on what; issues name the issuer's field. */
export const issuersSchema = z.array(issuerInputSchema).transform((list, ctx): IssuerConfig[] => {
  const names = new Set<string>();
  return list.map((input, index) => {
    const problem = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [index, field], message });
    if (names.has(input.name)) problem('name', `issuer name "${input.name}" is used twice`);
    names.add(input.name);
    const supabase = input.preset === 'supabase';
    if (supabase && !input.projectUrl) problem('projectUrl', 'is required with preset "supabase"');
    const projectUrl = input.projectUrl?.replace(/\/+$/, '');
    const issuer = input.issuer ?? (supabase && projectUrl ? `${projectUrl}/auth/v1` : undefined);
    if (!issuer) problem('issuer', 'is required');
    const audience = input.audience ?? (supabase ? 'authenticated' : undefined);
    if (!audience) problem('audience', 'is required (the `aud` your tokens carry)');
    if (input.hs256Secret && input.algorithms) problem('algorithms', 'cannot be combined with hs256Secret (HS256 only)');
    if (input.hs256Secret && input.codeFlow) problem('codeFlow', 'needs asymmetric keys: remove hs256Secret');
    const jwksUrl =
      input.jwksUrl ?? (supabase && projectUrl && !input.hs256Secret ? `${projectUrl}/auth/v1/.well-known/jwks.json` : undefined);
    return {
      name: input.name,
      displayName: input.displayName ?? (supabase ? 'Supabase' : input.name),
      issuer: issuer ?? '',
      audience: [audience ?? ''].flat(),
      jwksUrl,
      hs256Secret: input.hs256Secret,
      algorithms: input.hs256Secret ? ['HS256'] : (input.algorithms ?? ['RS256', 'ES256', 'PS256', 'EdDSA']),
      clockToleranceSeconds: input.clockToleranceSeconds,
      jwksCooldownSeconds: input.jwksCooldownSeconds,
      // Supabase puts the display name in user metadata and confirms addresses before it signs in.
      claims: supabase
        ? {
            email: input.claims.email,
            emailVerified: input.claims.emailVerified === 'email_verified' ? 'user_metadata.email_verified' : input.claims.emailVerified,
            name: input.claims.name === 'name' ? 'user_metadata.full_name' : input.claims.name,
            role: input.claims.role ?? 'app_metadata.role',
          }
        : { ...input.claims, role: input.claims.role },
      trustEmail: input.trustEmail,
      operatorRoles: input.operatorRoles,
      operatorEmailDomains: input.operatorEmailDomains.map((d) => d.toLowerCase()),
      allowSignUp: input.allowSignUp,
      codeFlow: input.codeFlow && {
        clientId: input.codeFlow.clientId,
        clientSecret: input.codeFlow.clientSecret,
        scopes: input.codeFlow.scopes,
      },
    };
  });
});

/** OIDC_ISSUERS holds the JSON list itself (a CONFIG_FILE may give it as a JSON array). */
export const issuersSetting = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of issuers (see docs/operations/identity.md)' });
      return z.NEVER;
    }
  })
  .pipe(issuersSchema);
