/**
 * Values from RFC 8448 §3 ("Simple 1-RTT Handshake"), shared by the TLS tests.
 *
 * @module
 */

/** The client's ClientHello handshake message. */
export const CLIENT_HELLO: string =
  "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283" +
  "024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d00" +
  "17001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3" +
  "c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501" +
  "060102010402050206020202002d00020101001c00024001";
/** The server's ServerHello handshake message. */
export const SERVER_HELLO: string =
  "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772" +
  "ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b0" +
  "4e751f0f002b00020304";
/** The server's ephemeral X25519 private key. */
export const SERVER_EPHEMERAL_PRIVATE: string =
  "b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e";
/** The (EC)DHE shared secret. */
export const SHARED: string = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d";
/** Hash(ClientHello..ServerHello). */
export const HELLO_HASH: string =
  "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8";
/** Hash(ClientHello..server Finished). */
export const FINISHED_HASH: string =
  "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13";
/** Handshake Secret. */
export const HANDSHAKE_SECRET: string =
  "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac";
/** client_handshake_traffic_secret. */
export const C_HS: string = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
/** server_handshake_traffic_secret. */
export const S_HS: string = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
/** client_application_traffic_secret_0. */
export const C_AP: string = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
/** server_application_traffic_secret_0. */
export const S_AP: string = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
/** The client's Finished handshake message. */
export const CLIENT_FINISHED: string =
  "14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61";
/** The record carrying it, under the client handshake key, sequence 0. */
export const CLIENT_FINISHED_RECORD: string =
  "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4b" +
  "fc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546";
