import { z } from 'zod';

/** Building blocks shared by the route files, so a field means the same everywhere. */
const noControlCharacters = /^[^\p{Cc}]*$/u;

export const emailSchema = z.email('must be an email address such as name@example.com').max(254).describe('Email address');
export const passwordInputSchema = z.string().max(1024, 'must be at most 1024 characters');
export const displayName = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(noControlCharacters, 'must not contain control characters');
export const uuidParam = z.uuid('must be a UUID');
export const paginationQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const userSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['customer', 'operator']),
    accountId: z.string().nullable(),
    emailVerified: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ id: 'User' });

export const accountSummarySchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() }).meta({ id: 'Account' });

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    field: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .describe('RFC 9457 problem details');
