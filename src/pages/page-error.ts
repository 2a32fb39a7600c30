import { OAuthError, type OAuthErrorCode, type OAuthErrorOptions } from '../errors.js'
import { en } from './i18n/en.js'
import type { MessageKey } from './i18n/index.js'

/**
 * An error a person sees as a page, with a text of the catalogue: the page
 * shows it in the person's language, while events and logs get the English
 * text as `description`.
 *
 * @example
 * throw new PageError('invalid_request', 'error.formExpired', { status: 403 })
 */
export class PageError extends OAuthError {
  constructor(
    error: OAuthErrorCode,
    /** The text the page shows. */
    readonly messageKey: MessageKey,
    options: Omit<OAuthErrorOptions, 'description'> = {},
  ) {
    super(error, { ...options, description: en[messageKey] })
    this.name = 'PageError'
  }
}
