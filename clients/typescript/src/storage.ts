/**
 * Where the refresh token is kept between app starts. The SDK stores nothing else: the access
 * token lives in memory only, and email and password are never stored.
 *
 * Any secure store fits in a few lines — React Native's Keychain or Expo SecureStore:
 *
 * ```ts
 * import * as SecureStore from 'expo-secure-store';
 * const storage: TokenStorage = {
 *   get: (key) => SecureStore.getItemAsync(key),
 *   set: (key, value) => SecureStore.setItemAsync(key, value),
 *   remove: (key) => SecureStore.deleteItemAsync(key),
 * };
 * ```
 */
export interface TokenStorage {
  get(key: string): Promise<string | null> | string | null;
  set(key: string, value: string): Promise<void> | void;
  remove(key: string): Promise<void> | void;
}

/** Keeps the refresh token for the life of the process (or page): the safest, and the default. */
export class MemoryStorage implements TokenStorage {
  private readonly items = new Map<string, string>();

  get(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  set(key: string, value: string): void {
    this.items.set(key, value);
  }

  remove(key: string): void {
    this.items.delete(key);
  }
}

/**
 * `window.localStorage`: survives reloads and is shared by tabs, but any script on the page
 * (an XSS, a compromised dependency) can read it. Prefer the server's cookie mode for web apps.
 */
export class LocalStorageAdapter implements TokenStorage {
  private readonly store: Storage;

  constructor(store?: Storage) {
    const found = store ?? (globalThis as { localStorage?: Storage }).localStorage;
    if (!found) throw new Error('localStorage is not available here');
    this.store = found;
  }

  get(key: string): string | null {
    return this.store.getItem(key);
  }

  set(key: string, value: string): void {
    this.store.setItem(key, value);
  }

  remove(key: string): void {
    this.store.removeItem(key);
  }
}
