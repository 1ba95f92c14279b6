export { LatchkeyClient } from './client.js';
export type { LatchkeyClientOptions, LatchkeyUser, SignupInput, TokenResponse } from './client.js';
export type {
  CodeSent,
  CodeSignInResult,
  InvalidCode,
  InvalidMfaCode,
  MfaChallenge,
  MfaRequired,
  MfaResult,
  SignInResult,
  SignedIn,
} from './signin.js';
export { ApiKeyClient } from './apikey.js';
export type { ApiKeyClientOptions } from './apikey.js';
export { attachAxios } from './axios.js';
export type { AxiosLike } from './axios.js';
export { LatchkeyError } from './errors.js';
export type { ErrorBody } from './errors.js';
export { keepSocketIo, keepWebSocket, socketIoAuth, webSocketUrl } from './sockets.js';
export type { KeepSocketIoOptions, KeepWebSocketOptions } from './sockets.js';
export { LocalStorageAdapter, MemoryStorage } from './storage.js';
export type { TokenStorage } from './storage.js';
