"""A scripted Kad peer that speaks to a ``NodeCore`` the way an iMule node would, keys and obfuscation included."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mule.kad import messages
from mule.kad.codec import decode
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.message import Message
from mule.kad.obfuscation import deobfuscate, obfuscate, verify_key
from mule.kad.opcodes import KAD_VERSION
from mule.node.core import NodeCore, Send


@dataclass(slots=True)
class FakePeer:
    kad_id: int
    destination: bytes
    secret: int
    version: int = KAD_VERSION
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    node_key: int = 0
    """The verify key the node gave us (what we echo as receiver key)."""
    node_dest: bytes = b""
    """The node we talk to (set on the first send)."""

    def randbytes(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def key_for(self, destination: bytes) -> int:
        """Our verify key for a peer: what we put in the sender field of what we send it."""
        return verify_key(hash_code(destination), self.secret)

    def contact(self) -> Contact:
        return Contact(self.version, self.kad_id, self.destination)

    def read(self, send: Send) -> Message:
        """Decode a datagram the node sent us, remembering the key it gave us."""
        assert send.destination == self.destination, "not for us"
        received = deobfuscate(send.payload, own_id=self.kad_id, own_verify_key_for_sender=self.key_for(self.node_dest))
        if received.mode is not None:
            self.node_key = received.sender_verify_key
        return decode(received.datagram)

    def seal(self, node: NodeCore, message: Message, *, keyed: bool = True) -> bytes:
        """``message`` as we would send it to the node: obfuscated with its Kad ID (and our key for it), or plain."""
        self.node_dest = node.me.udp_dest
        datagram = message.encode()
        if not keyed:
            return datagram
        return obfuscate(
            datagram,
            self.randbytes,
            receiver_id=node.me.kad_id if not self.node_key else None,
            receiver_verify_key=self.node_key,
            sender_verify_key=self.key_for(node.me.udp_dest),
        )

    def send(self, node: NodeCore, message: Message, now: float, *, keyed: bool = True) -> list[Send]:
        return node.receive(self.destination, self.seal(node, message, keyed=keyed), now)

    def hello(self, node: NodeCore, now: float) -> list[Send]:
        return self.send(node, messages.HelloReq(self.contact()), now)

    def handshake(self, node: NodeCore, now: float) -> None:
        """HELLO_REQ, read the HELLO_RES, answer its ACK request: what an honest iMule newcomer does."""
        [reply] = [s for s in self.hello(node, now) if s.destination == self.destination]
        hello_res = self.read(reply)
        assert isinstance(hello_res, messages.HelloRes), hello_res
        self.send(node, messages.HelloResAck(self.kad_id), now + 1.0)
