-- kink.lua - Wireshark dissector for KINK as RFC 4430 specifies it
-- (Wireshark's built-in "kink" follows a 2003 draft).  Protocol name
-- "kink4430"; registered on UDP 910, other ports with
--   tshark -X lua_script:tools/kink.lua -d udp.port==9100,kink4430 ...
-- Checks what can be checked without the session key: header, Length,
-- CksumLen, the payload chain with its padding, KINK_ISAKMP's QMVersion
-- and the Quick Mode chain of a KINK_ISAKMP in the clear.  Problems are
-- expert infos of severity error (filter: _ws.expert.severity >= error).
local p = Proto("kink4430", "KINK (RFC 4430)")

local types = { [0] = "RESERVED", "CREATE", "DELETE", "REPLY", "GETTGT", "ACK", "STATUS" }
local pls = { [0] = "KINK_DONE", "KINK_AP_REQ", "KINK_AP_REP", "KINK_KRB_ERROR",
	"KINK_TGT_REQ", "KINK_TGT_REP", "KINK_ISAKMP", "KINK_ENCRYPT", "KINK_ERROR" }
local errs = { [0] = "OK", "PROTOERR", "INVDOI", "INVMAJ", "INVMIN", "INTERR", "BADQMVERS" }
local isakmp = { [0] = "NONE", "SA", "P", "T", "KE", "ID", "CERT", "CR", "HASH", "SIG",
	"NONCE", "N", "D", "VID" }

local f = {
	type = ProtoField.uint8("kink4430.type", "Type", base.DEC, types),
	ver = ProtoField.uint8("kink4430.version", "Version", base.HEX),
	len = ProtoField.uint16("kink4430.length", "Length"),
	doi = ProtoField.uint32("kink4430.doi", "DOI"),
	xid = ProtoField.uint32("kink4430.xid", "XID"),
	next = ProtoField.uint8("kink4430.next", "Next Payload", base.DEC, pls),
	ackreq = ProtoField.bool("kink4430.ackreq", "ACKREQ", 8, nil, 0x80),
	cklen = ProtoField.uint16("kink4430.cksum_len", "CksumLen"),
	cksum = ProtoField.bytes("kink4430.cksum", "Cksum"),
	pl = ProtoField.uint8("kink4430.payload", "Payload", base.DEC, pls),
	pllen = ProtoField.uint16("kink4430.payload.length", "Payload Length"),
	epoch = ProtoField.uint32("kink4430.epoch", "EPOCH"),
	krb = ProtoField.bytes("kink4430.krb", "Kerberos message (DER)"),
	inner = ProtoField.uint8("kink4430.inner_next", "InnerNextPload", base.DEC),
	qmver = ProtoField.uint8("kink4430.qmversion", "QMVersion", base.HEX),
	qmpl = ProtoField.uint8("kink4430.isakmp.payload", "Quick Mode payload", base.DEC, isakmp),
	ct = ProtoField.bytes("kink4430.ciphertext", "Ciphertext"),
	err = ProtoField.uint32("kink4430.error", "ErrorCode", base.DEC, errs),
}
p.fields = f
local ex_bad = ProtoExpert.new("kink4430.malformed", "Malformed KINK",
	expert.group.MALFORMED, expert.severity.ERROR)
p.experts = { ex_bad }

local function qm_chain(buf, off, stop, first, tree)
	local np = first
	while np ~= 0 do
		if off + 4 > stop then
			tree:add_proto_expert_info(ex_bad, "truncated Quick Mode payload")
			return
		end
		local l = buf(off + 2, 2):uint()
		if l < 4 or off + l > stop then
			tree:add_proto_expert_info(ex_bad, "bad Quick Mode payload length")
			return
		end
		tree:add(f.qmpl, buf(off, l), np)
		np = buf(off, 1):uint()
		off = off + l
	end
	if off ~= stop then
		tree:add_proto_expert_info(ex_bad, "data after the Quick Mode chain")
	end
end

local function chain(buf, off, stop, np, tree, inner)
	local seen = {}
	while np ~= 0 do
		if off + 4 > stop then
			tree:add_proto_expert_info(ex_bad, "truncated payload")
			return
		end
		local l = buf(off + 2, 2):uint()
		if l < 4 or off + l > stop then
			tree:add_proto_expert_info(ex_bad, "bad payload length " .. l)
			return
		end
		local t = tree:add(f.pl, buf(off, l), np)
		t:add(f.pllen, buf(off + 2, 2))
		if np > 8 or seen[np] then
			t:add_proto_expert_info(ex_bad, "unknown or repeated payload type " .. np)
			return
		end
		seen[np] = true
		local b, bl = off + 4, l - 4
		if np == 1 or np == 2 then
			if bl < 5 then t:add_proto_expert_info(ex_bad, "short AP_REQ/AP_REP") return end
			if inner then t:add_proto_expert_info(ex_bad, "AP_REQ/AP_REP inside KINK_ENCRYPT") end
			t:add(f.epoch, buf(b, 4))
			t:add(f.krb, buf(b + 4, bl - 4))
		elseif np == 3 or np == 4 or np == 5 then
			if bl > 0 then t:add(f.krb, buf(b, bl)) end
		elseif np == 6 then
			if bl < 4 then t:add_proto_expert_info(ex_bad, "short KINK_ISAKMP") return end
			t:add(f.inner, buf(b, 1))
			t:add(f.qmver, buf(b + 1, 1))
			if buf(b + 1, 1):uint() ~= 0x10 then
				t:add_proto_expert_info(ex_bad, "QMVersion is not 1.0")
			end
			qm_chain(buf, b + 4, b + bl, buf(b, 1):uint(), t)
		elseif np == 7 then
			if inner then t:add_proto_expert_info(ex_bad, "nested KINK_ENCRYPT") end
			if buf(off, 1):uint() ~= 0 then
				t:add_proto_expert_info(ex_bad, "KINK_ENCRYPT is not the last payload")
			end
			t:add(f.ct, buf(b, bl))
		elseif np == 8 then
			if bl ~= 4 then t:add_proto_expert_info(ex_bad, "KINK_ERROR is not 4 octets") return end
			t:add(f.err, buf(b, 4))
		end
		np = buf(off, 1):uint()
		off = off + l
		local pad = (4 - l % 4) % 4
		if off + pad > stop then
			if np ~= 0 then t:add_proto_expert_info(ex_bad, "missing padding") return end
			pad = stop - off
		end
		off = off + pad
	end
	if off ~= stop and not inner then
		tree:add_proto_expert_info(ex_bad, (stop - off) .. " octets after the payload chain")
	end
end

function p.dissector(buf, pinfo, root)
	local n = buf:len()
	pinfo.cols.protocol = "KINK"
	local tree = root:add(p, buf())
	if n < 16 then
		tree:add_proto_expert_info(ex_bad, "shorter than the KINK header")
		return n
	end
	local ty = buf(0, 1):uint()
	tree:add(f.type, buf(0, 1))
	tree:add(f.ver, buf(1, 1))
	tree:add(f.len, buf(2, 2))
	tree:add(f.doi, buf(4, 4))
	tree:add(f.xid, buf(8, 4))
	tree:add(f.next, buf(12, 1))
	tree:add(f.ackreq, buf(13, 1))
	tree:add(f.cklen, buf(14, 2))
	pinfo.cols.info = (types[ty] or ("type " .. ty)) .. " XID " .. buf(8, 4):uint() ..
		((buf(13, 1):uint() >= 0x80) and " ACKREQ" or "")
	local len, ck = buf(2, 2):uint(), buf(14, 2):uint()
	if buf(1, 1):uint() ~= 0x10 then tree:add_proto_expert_info(ex_bad, "version is not 1.0") end
	if buf(4, 4):uint() ~= 1 then tree:add_proto_expert_info(ex_bad, "DOI is not IPsec") end
	if ty == 0 or ty > 6 then tree:add_proto_expert_info(ex_bad, "unknown message type") end
	if len ~= n then
		tree:add_proto_expert_info(ex_bad, "Length " .. len .. " but datagram " .. n)
		return n
	end
	if ck > len - 16 then
		tree:add_proto_expert_info(ex_bad, "CksumLen beyond the message")
		return n
	end
	if ck > 0 then tree:add(f.cksum, buf(len - ck, ck)) end
	chain(buf, 16, len - ck, buf(12, 1):uint(), tree, false)
	return n
end

DissectorTable.get("udp.port"):add(910, p)
