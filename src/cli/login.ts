import type { createApiClient } from './client.js';
import { writeCredentials } from './credentials.js';
import { promptLine, promptSecret, readStdin } from './prompt.js';

interface LoginUser {
  email: string;
  role: string;
}
type LoginAnswer =
  | { accessToken: string; refreshToken: string; user: LoginUser; recoveryCodes?: string[] }
  | { secondFactor: 'totp' | 'enrol'; challenge: string; user: LoginUser };

/**
 * `saasctl login`: password, then the second factor when the account has one (or, for operators
 * when it is required, the set-up of an authenticator). With --password-stdin the code is the
 * second line of standard input: neither ever goes on the command line.
 */
export async function logIn(
  client: ReturnType<typeof createApiClient>,
  options: { url: string; email: string; passwordStdin?: boolean },
  say: (text: string) => void,
) {
  const lines = options.passwordStdin ? (await readStdin()).split(/\r?\n/) : undefined;
  const password = lines ? (lines[0] ?? '') : await promptSecret('Password: ');
  let answer = await client.post<LoginAnswer>('/auth/login', { email: options.email, password });
  if ('secondFactor' in answer) {
    const challenge = answer.challenge;
    if (answer.secondFactor === 'enrol') {
      const enrolment = await client.post<{ secret: string; otpauthUri: string }>('/auth/login/enrol', { challenge });
      say(
        'Operators must use two-factor authentication. Add this account to your authenticator app:\n' +
          `  secret: ${enrolment.secret}\n  or open: ${enrolment.otpauthUri}\n`,
      );
    }
    const code = lines ? lines[1]?.trim() : await promptLine('Code from your authenticator app (or a recovery code): ');
    if (!code) {
      throw new Error(
        'This account uses two-factor authentication: put the code on the second line of standard input, or run without --password-stdin to be asked.',
      );
    }
    answer = await client.post<LoginAnswer>('/auth/login/second-factor', { challenge, code });
  }
  if ('secondFactor' in answer) throw new Error('The platform asked for another factor again; log in again.');
  if (answer.recoveryCodes) {
    say(
      `Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once:\n  ${answer.recoveryCodes.join('\n  ')}\n`,
    );
  }
  const path = writeCredentials({
    url: options.url,
    email: answer.user.email,
    accessToken: answer.accessToken,
    refreshToken: answer.refreshToken,
  });
  return { user: answer.user, path, recoveryCodes: answer.recoveryCodes };
}
