/**
 * Forms that validate as you type: a field's message appears once it was left (or the form was
 * submitted) and then follows every keystroke. Errors from the API (problem+json `errors[]` and
 * `field`) land on the field they name and disappear as soon as that field changes.
 */
import { type FormEvent, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, useCallback, useId, useState } from 'react';
import { ApiError, errorMessage } from './api';

export type Values = Record<string, string>;
export type Validator<V extends Values> = (values: V) => Partial<Record<keyof V & string, string>>;

export interface FormState<V extends Values> {
  values: V;
  set: (name: keyof V & string, value: string) => void;
  error: (name: keyof V & string) => string | undefined;
  bind: (name: keyof V & string) => {
    name: string;
    value: string;
    onChange: (event: { target: { value: string } }) => void;
    onBlur: () => void;
  };
  submitting: boolean;
  formError: string | undefined;
  /** Runs `action` when the values pass validation; maps API errors back onto the fields. */
  handleSubmit: (action: (values: V) => Promise<void>) => (event: FormEvent) => void;
  isValid: boolean;
  setServerError: (error: unknown) => void;
  reset: (values?: V) => void;
}

export function useForm<V extends Values>(
  initial: V,
  validate: Validator<V>,
  fieldNames?: Partial<Record<string, keyof V & string>>,
): FormState<V> {
  const [values, setValues] = useState<V>(initial);
  const [touched, setTouched] = useState<Partial<Record<keyof V, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Partial<Record<string, string>>>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [submitting, setSubmitting] = useState(false);
  const clientErrors = validate(values);

  const set = useCallback((name: keyof V & string, value: string) => {
    setValues((current) => ({ ...current, [name]: value }));
    setServerErrors((current) => (current[name] ? { ...current, [name]: undefined } : current));
  }, []);

  function setServerError(error: unknown) {
    if (error instanceof ApiError) {
      const mapped: Record<string, string> = {};
      let unplaced = false;
      for (const [field, message] of Object.entries(error.fieldErrors)) {
        const target = (fieldNames?.[field] as string | undefined) ?? field;
        if (target in values) mapped[target] = message;
        else unplaced = true;
      }
      setServerErrors(mapped);
      setFormError(Object.keys(mapped).length === 0 || unplaced ? error.message : undefined);
    } else {
      setFormError(errorMessage(error));
    }
  }

  return {
    values,
    set,
    error: (name) => serverErrors[name] ?? (touched[name] || submitted ? clientErrors[name] : undefined),
    bind: (name) => ({
      name,
      value: values[name] ?? '',
      onChange: (event) => set(name, event.target.value),
      onBlur: () => setTouched((current) => (current[name] ? current : { ...current, [name]: true })),
    }),
    submitting,
    formError,
    isValid: Object.values(clientErrors).every((message) => !message),
    setServerError,
    reset: (next) => {
      setValues(next ?? initial);
      setTouched({});
      setSubmitted(false);
      setServerErrors({});
      setFormError(undefined);
    },
    handleSubmit: (action) => (event) => {
      event.preventDefault();
      setSubmitted(true);
      setFormError(undefined);
      if (Object.values(clientErrors).some(Boolean)) {
        // Put the keyboard where the first problem is.
        const form = event.currentTarget as HTMLFormElement;
        window.setTimeout(() => form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
        return;
      }
      setSubmitting(true);
      action(values)
        .catch((error: unknown) => setServerError(error))
        .finally(() => setSubmitting(false));
    },
  };
}

// ----- validators shared with the API's rules -------------------------------------------------

export function validateEmail(value: string): string | undefined {
  if (!value.trim()) return 'Enter an email address.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim())) return 'Enter an email address such as name@example.com.';
  if (value.length > 254) return 'This email address is too long.';
  return undefined;
}

/** The platform's password policy: at least 8 characters, lower and upper case, a digit or a symbol. */
export function passwordChecks(password: string, email = ''): Array<{ label: string; ok: boolean }> {
  const lowerEmail = email.toLowerCase();
  return [
    { label: 'At least 8 characters', ok: password.length >= 8 },
    { label: 'A lower-case letter', ok: /\p{Ll}/u.test(password) },
    { label: 'An upper-case letter', ok: /\p{Lu}/u.test(password) },
    { label: 'A digit or a symbol', ok: /[\p{N}\p{P}\p{S}]/u.test(password) },
    {
      label: 'Not your email address',
      ok: !lowerEmail || (password.toLowerCase() !== lowerEmail && password.toLowerCase() !== lowerEmail.split('@')[0]),
    },
  ];
}

export function validatePassword(password: string, email = ''): string | undefined {
  if (!password) return 'Enter a password.';
  const failed = passwordChecks(password, email).filter((check) => !check.ok);
  if (failed.length === 0) return password.length > 1024 ? 'At most 1024 characters.' : undefined;
  return `Still needed: ${failed.map((check) => check.label.toLowerCase()).join(', ')}.`;
}

export function validateRequired(value: string, label: string, max = 200): string | undefined {
  if (!value.trim()) return `Enter ${label}.`;
  if (value.length > max) return `At most ${max} characters.`;
  return undefined;
}

// ----- components -------------------------------------------------------------------------

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: ReactNode;
  /** Shown after the input (availability, checklist). */
  after?: ReactNode;
}

export function Field({ label, error, hint, after, id, className, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? `${generated}-${input.name}`;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  return (
    <div className={`field${error ? ' field--invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <input
        id={inputId}
        aria-invalid={error ? 'true' : 'false'}
        aria-describedby={[hintId, errorId].filter(Boolean).join(' ') || undefined}
        {...input}
      />
      {hint ? (
        <div className="field__hint" id={hintId}>
          {hint}
        </div>
      ) : null}
      {after}
      {error ? (
        <p className="field__error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

interface SelectFieldProps extends SelectHTMLAttributes<HTMLSelectElement> {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: ReactNode;
}

export function SelectField({ label, error, hint, id, children, ...select }: SelectFieldProps) {
  const generated = useId();
  const selectId = id ?? `${generated}-${select.name}`;
  const hintId = hint ? `${selectId}-hint` : undefined;
  const errorId = error ? `${selectId}-error` : undefined;
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={selectId}>{label}</label>
      <select
        id={selectId}
        aria-invalid={error ? 'true' : 'false'}
        aria-describedby={[hintId, errorId].filter(Boolean).join(' ') || undefined}
        {...select}
      >
        {children}
      </select>
      {hint ? (
        <div className="field__hint" id={hintId}>
          {hint}
        </div>
      ) : null}
      {error ? (
        <p className="field__error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function PasswordChecklist({ password, email }: { password: string; email?: string }) {
  return (
    <ul className="checklist" aria-label="Password requirements">
      {passwordChecks(password, email).map((check) => (
        <li key={check.label} className={check.ok ? 'ok' : ''}>
          <span aria-hidden="true">{check.ok ? '✓' : '•'}</span> {check.label}
          <span className="visually-hidden">{check.ok ? ' (met)' : ' (not yet)'}</span>
        </li>
      ))}
    </ul>
  );
}

export function FormError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <div className="alert alert--error" role="alert">
      {message}
    </div>
  );
}
