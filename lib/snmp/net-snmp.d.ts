// Types for the part of net-snmp 3.29 that lib/snmp uses. The package is CommonJS and ships no types;
// keep this to what client.ts calls so a net-snmp upgrade has one small surface to re-check.
declare module 'net-snmp' {
  namespace NetSnmp {
    interface Varbind {
      oid: string;
      type: number;
      value: unknown;
    }
    interface SessionOptions {
      port?: number;
      retries?: number;
      timeout?: number;
      backoff?: number;
      transport?: 'udp4' | 'udp6';
      version?: number;
      idBitsSize?: 16 | 32;
      backwardsGetNexts?: boolean;
      reportOidMismatchErrors?: boolean;
    }
    interface User {
      name: string;
      level: number;
      authProtocol?: number;
      authKey?: string;
      privProtocol?: number;
      privKey?: string;
    }
    type ResponseCallback = (error: Error | null, varbinds: Varbind[]) => void;
    interface Session {
      /** Read by each request when it is created: set before a call to pace that call's attempts. */
      timeout: number;
      retries: number;
      /** Internal: set once a v3 agent answered engine discovery (its engine ID, boots and time). */
      readonly msgSecurityParameters?: object;
      get(oids: string[], callback: ResponseCallback): Session;
      set(varbinds: Varbind[], callback: ResponseCallback): Session;
      /** feed returning true stops the walk. */
      subtree(
        oid: string,
        maxRepetitions: number,
        feed: (varbinds: Varbind[]) => boolean | void,
        done: (error: Error | null) => void,
      ): Session;
      close(): Session;
      on(event: 'error', listener: (error: Error) => void): Session;
    }
    interface Api {
      createSession(target: string, community: string, options: SessionOptions): Session;
      createV3Session(target: string, user: User, options: SessionOptions): Session;
      Version1: number;
      Version2c: number;
      Version3: number;
      SecurityLevel: Record<'noAuthNoPriv' | 'authNoPriv' | 'authPriv', number>;
      AuthProtocols: Record<'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512', number>;
      PrivProtocols: Record<'des' | 'aes' | 'aes256b' | 'aes256r', number>;
      ObjectType: Record<'Integer' | 'OctetString', number>;
    }
  }
  // One name for both: the namespace carries the types, the value is module.exports.
  const NetSnmp: NetSnmp.Api;
  export = NetSnmp;
}
