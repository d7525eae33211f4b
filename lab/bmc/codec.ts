// The BMC's side of the IPMI wire: what a BMC decodes (requests, Open Session Request, RAKP 1 and 3) and
// encodes (responses, Open Session Response, RAKP 2 and 4), plus the ASF presence ping and pong, for the
// simulators and the tests that play a BMC. The product is only ever the console: its half, and the layouts
// both halves share (the LAN frame, algorithm records, the reader that throws only IpmiDecodeError), are in
// lib/ipmi/codec.ts. Spec references are to IPMI v2.0 rev 1.1 and DMTF ASF 2.0.
import {
  BMC_SLAVE_ADDRESS,
  IpmiDecodeError,
  REMOTE_CONSOLE_SWID,
  RMCP_CLASS_ASF,
  Reader,
  algorithmRecord,
  checksum,
  decodeLanFrame,
  decodeRmcp,
  encodeRmcpHeader,
  readAlgorithmRecord,
  u32le,
  type IpmiRequest,
  type IpmiResponse,
  type OpenSessionRequest,
  type OpenSessionResponse,
  type Rakp1,
  type Rakp2,
  type Rakp3,
  type Rakp4,
} from '../../lib/ipmi/codec.js';

const ASF_IANA = 0x000011be;
const ASF_TYPE_PING = 0x80;
const ASF_TYPE_PONG = 0x40;

/** ASF Presence Ping (ASF 2.0 §3.2.4.1): proves something RMCP-speaking listens, without a session. */
export function encodeAsfPing(messageTag: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(ASF_IANA, 0);
  body[4] = ASF_TYPE_PING;
  body[5] = messageTag & 0xff;
  body[6] = 0;
  body[7] = 0; // no data
  return Buffer.concat([encodeRmcpHeader(RMCP_CLASS_ASF), body]);
}

export interface AsfPong {
  messageTag: number;
  iana: number;
  /** Supported Entities bit 7: IPMI is supported (ASF 2.0 §3.2.4.3). */
  supportsIpmi: boolean;
}

export function decodeAsfPong(packet: Buffer): AsfPong {
  const { messageClass, body } = decodeRmcp(packet);
  if (messageClass !== RMCP_CLASS_ASF) throw new IpmiDecodeError('ASF pong: not an ASF class RMCP message');
  const r = new Reader(body, 'ASF pong');
  const iana = r.u32be();
  if (iana !== ASF_IANA) throw new IpmiDecodeError('ASF pong: wrong IANA number');
  const type = r.u8();
  if (type !== ASF_TYPE_PONG) throw new IpmiDecodeError(`ASF pong: message type 0x${type.toString(16)} is not a pong`);
  const messageTag = r.u8();
  r.u8();
  const length = r.u8();
  if (length < 16) throw new IpmiDecodeError(`ASF pong: data length ${length} < 16`);
  const data = r.bytes(length);
  return { messageTag, iana: data.readUInt32BE(0), supportsIpmi: (data[8]! & 0x80) !== 0 };
}

// IPMI LAN messages (spec §13.8): the request in, the response out.

export function decodeIpmiRequest(msg: Buffer): IpmiRequest {
  const f = decodeLanFrame(msg, 'IPMI request');
  return { rsAddr: f.a1, netFn: f.netFnLun >> 2, rqAddr: f.a2, rqSeq: f.seqLun >> 2, cmd: f.cmd, data: f.rest };
}

export function encodeIpmiResponse(res: IpmiResponse, rqAddr = REMOTE_CONSOLE_SWID, rsAddr = BMC_SLAVE_ADDRESS): Buffer {
  const head = Buffer.from([rqAddr, (res.netFn << 2) & 0xfc]);
  const body = Buffer.concat([Buffer.from([rsAddr, (res.rqSeq & 0x3f) << 2, res.cmd, res.completionCode]), res.data]);
  return Buffer.concat([head, Buffer.from([checksum(head)]), body, Buffer.from([checksum(body)])]);
}

// RMCP+ Open Session and RAKP (spec §13.17-13.23): the BMC's half.

export function decodeOpenSessionRequest(payload: Buffer): OpenSessionRequest {
  const r = new Reader(payload, 'Open Session Request');
  const messageTag = r.u8();
  const maxPrivilege = r.u8() & 0x0f;
  r.u16le();
  const consoleSessionId = r.u32le();
  return {
    messageTag,
    maxPrivilege,
    consoleSessionId,
    authAlgorithm: readAlgorithmRecord(r, 0, 'Open Session Request'),
    integrityAlgorithm: readAlgorithmRecord(r, 1, 'Open Session Request'),
    confidentialityAlgorithm: readAlgorithmRecord(r, 2, 'Open Session Request'),
  };
}

export function encodeOpenSessionResponse(m: OpenSessionResponse): Buffer {
  const head = Buffer.concat([Buffer.from([m.messageTag, m.statusCode, m.maxPrivilege, 0]), u32le(m.consoleSessionId)]);
  if (m.statusCode !== 0) return head;
  return Buffer.concat([
    head,
    u32le(m.bmcSessionId ?? 0),
    algorithmRecord(0, m.authAlgorithm ?? 0),
    algorithmRecord(1, m.integrityAlgorithm ?? 0),
    algorithmRecord(2, m.confidentialityAlgorithm ?? 0),
  ]);
}

export function decodeRakp1(payload: Buffer): Rakp1 {
  const r = new Reader(payload, 'RAKP 1');
  const messageTag = r.u8();
  r.bytes(3);
  const bmcSessionId = r.u32le();
  const consoleRandom = r.bytes(16);
  const role = r.u8();
  r.u16le();
  const length = r.u8();
  if (length > 16) throw new IpmiDecodeError(`RAKP 1: user name length ${length} > 16`);
  return { messageTag, bmcSessionId, consoleRandom, role, username: r.bytes(length) };
}

export function encodeRakp2(m: Rakp2): Buffer {
  const head = Buffer.concat([Buffer.from([m.messageTag, m.statusCode, 0, 0]), u32le(m.consoleSessionId)]);
  if (m.statusCode !== 0) return head;
  return Buffer.concat([head, m.bmcRandom ?? Buffer.alloc(16), m.bmcGuid ?? Buffer.alloc(16), m.authCode ?? Buffer.alloc(0)]);
}

export function decodeRakp3(payload: Buffer): Rakp3 {
  const r = new Reader(payload, 'RAKP 3');
  const messageTag = r.u8();
  const statusCode = r.u8();
  r.u16le();
  return { messageTag, statusCode, bmcSessionId: r.u32le(), authCode: r.rest() };
}

export function encodeRakp4(m: Rakp4): Buffer {
  return Buffer.concat([Buffer.from([m.messageTag, m.statusCode, 0, 0]), u32le(m.consoleSessionId), m.integrityCheck]);
}
