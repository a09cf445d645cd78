"""E-invoice files built to the published formats, from a ground-truth field dict.

- 数电票 XML: the tax bureau's ``EInvoice`` document (Header/InherentLabel, EInvoiceData with
  Seller/Buyer/BasicInformation and IssuItemInformation, TaxSupervisionInfo, signature).
- OFD (GB/T 33190): a zip with OFD.xml (DocBody, DocInfo/CustomDatas, DocRoot), Doc_0/Document.xml
  (CommonData, Pages, Attachments, CustomTags), the page content with TextObjects, an
  ``fp:eInvoice`` custom tag whose leaves are ``ofd:ObjectRef`` pointers to those text objects, and
  optionally the original invoice XML as an attachment.
"""

from __future__ import annotations

import io
import zipfile
from decimal import ROUND_DOWN, Decimal
from typing import Any
from xml.sax.saxutils import escape

OFD_NS = "http://www.ofdspec.org/2016"
FP_NS = "http://www.edrm.org.cn/schema/e-invoice/2019"


ITEMS = ("*信息技术服务*技术服务费",)  # what the files carry unless a test names its own item lines


def _shares(total: str, n: int) -> list[Decimal]:
    """total split into n amounts to the fen that add up exactly (the item rows of one invoice)."""
    whole = Decimal(total)
    part = (whole / n).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return [part] * (n - 1) + [whole - part * (n - 1)]


def _item_rows(f: dict[str, Any], items: tuple[str, ...]) -> str:
    tax_rate = (Decimal(f["tax"]) / Decimal(f["amount"])).quantize(Decimal("0.01"))
    return "".join(f"""
    <IssuItemInformation>
      <ItemName>{escape(name)}</ItemName>
      <SpecMod/>
      <MeaUnits>项</MeaUnits>
      <Quantity>1</Quantity>
      <UnPrice>{amount}</UnPrice>
      <Amount>{amount}</Amount>
      <TaxRate>{tax_rate}</TaxRate>
      <ComTaxAm>{tax}</ComTaxAm>
    </IssuItemInformation>""" for name, amount, tax in zip(
        items, _shares(f["amount"], len(items)), _shares(f["tax"], len(items)), strict=True))


def digital_xml(f: dict[str, Any], items: tuple[str, ...] = ITEMS) -> bytes:
    """A 数电票 XML for a 全电 invoice (电子发票（普通发票）or（增值税专用发票）), one IssuItemInformation per item."""
    special = "专用" in f["invoice_type"]
    label = ("01", "增值税专用发票") if special else ("02", "普通发票")
    e = escape
    return f"""<?xml version="1.0" encoding="utf-8"?>
<EInvoice>
  <Header>
    <EIid>{f["invoice_number"]}</EIid>
    <EInvoiceTag>SWEI3200</EInvoiceTag>
    <Version>0.1</Version>
    <InherentLabel>
      <InIssuType><LabelCode>Y</LabelCode><LabelName>是否蓝字发票标志</LabelName></InIssuType>
      <GeneralOrSpecialVAT><LabelCode>{label[0]}</LabelCode><LabelName>{label[1]}</LabelName></GeneralOrSpecialVAT>
    </InherentLabel>
  </Header>
  <EInvoiceData>
    <SellerInformation>
      <SellerIdNum>{f["seller_tax_id"]}</SellerIdNum>
      <SellerName>{e(f["seller_name"])}</SellerName>
      <SellerAddr>某市某区某路1号</SellerAddr>
      <SellerTelNum>010-12345678</SellerTelNum>
      <SellerBankName>某银行某支行</SellerBankName>
      <SellerBankAccNum>6222000011112222333</SellerBankAccNum>
    </SellerInformation>
    <BuyerInformation>
      <BuyerIdNum>{f["buyer_tax_id"]}</BuyerIdNum>
      <BuyerName>{e(f["buyer_name"])}</BuyerName>
      <BuyerAddr/>
      <BuyerTelNum/>
      <BuyerBankName/>
      <BuyerBankAccNum/>
    </BuyerInformation>
    <BasicInformation>
      <TotalAmWithoutTax>{f["amount"]}</TotalAmWithoutTax>
      <TotalTaxAm>{f["tax"]}</TotalTaxAm>
      <TotalTax-includedAmount>{f["total"]}</TotalTax-includedAmount>
      <TotalTax-includedAmountInChinese>{f["total_cn"]}</TotalTax-includedAmountInChinese>
      <Drawer>张三</Drawer>
      <RequestTime>{f["issue_date"]} 10:21:07</RequestTime>
    </BasicInformation>
{_item_rows(f, items)}
    <AdditionalInformation><Remark/></AdditionalInformation>
  </EInvoiceData>
  <SellerAuthentication><AuthenticationMethods>2</AuthenticationMethods></SellerAuthentication>
  <TaxSupervisionInfo>
    <InvoiceNumber>{f["invoice_number"]}</InvoiceNumber>
    <IssueTime>{f["issue_date"]}</IssueTime>
    <TaxBureauCode>13100000000</TaxBureauCode>
    <TaxBureauName>国家税务总局某市税务局</TaxBureauName>
  </TaxSupervisionInfo>
  <TaxBureauSignature><SignatureValue>MEUCIQDx</SignatureValue></TaxBureauSignature>
</EInvoice>
""".encode()


# Fields printed on the page and pointed at by the custom tag, as (fp path, ground-truth key).
_TAGGED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("InvoiceCode",), "invoice_code"), (("InvoiceNo",), "invoice_number"), (("IssueDate",), "issue_date"),
    (("InvoiceCheckCode",), "check_code"), (("Buyer", "BuyerName"), "buyer_name"),
    (("Buyer", "BuyerTaxID"), "buyer_tax_id"), (("Seller", "SellerName"), "seller_name"),
    (("Seller", "SellerTaxID"), "seller_tax_id"), (("TaxExclusiveTotalAmount",), "amount"),
    (("TaxTotalAmount",), "tax"), (("TaxInclusiveTotalAmount",), "total"),
)


def _printed(key: str, value: str) -> list[str]:
    """How a value is printed: dates in Chinese, money with ¥, long names in two text objects."""
    if key == "issue_date":
        y, m, d = value.split("-")
        return [f"{y}年{m}月{d}日"]
    if key in ("amount", "tax", "total"):
        return [f"¥{value}"]
    if key.endswith("_name") and len(value) > 6:
        return [value[:4], value[4:]]
    return [value]


def _custom_tag_and_page(f: dict[str, Any], items: tuple[str, ...]) -> tuple[str, str]:
    objects: list[str] = []
    tags: dict[tuple[str, ...], list[int]] = {}
    next_id = 10
    y = 10.0
    printed = [(path, _printed(key, f[key])) for path, key in _TAGGED if f.get(key) is not None]
    printed += [(("GoodsInfo", str(i)), [name]) for i, name in enumerate(items)]
    for path, parts in printed:
        ids = []
        for part in parts:
            objects.append(
                f'<ofd:TextObject ID="{next_id}" Boundary="20 {y:.1f} 80 5" Font="3" Size="3.175">'
                f'<ofd:FillColor Value="0 0 0"/><ofd:TextCode X="0" Y="3.6">{escape(part)}</ofd:TextCode>'
                f"</ofd:TextObject>"
            )
            ids.append(next_id)
            next_id += 1
        tags[path] = ids
        y += 6
    content = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content>'
               f'<ofd:Layer ID="2">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')

    def refs(path: tuple[str, ...]) -> str:
        return "".join(f'<ofd:ObjectRef PageRef="1">{i}</ofd:ObjectRef>' for i in tags.get(path, []))

    parts = []
    for group in ("Buyer", "Seller"):
        inner = "".join(f"<fp:{p[1]}>{refs(p)}</fp:{p[1]}>" for p, _ in _TAGGED if p[0] == group)
        parts.append(f"<fp:{group}>{inner}</fp:{group}>")
    singles = "".join(f"<fp:{p[0]}>{refs(p)}</fp:{p[0]}>" for p, _ in _TAGGED if len(p) == 1)
    goods = "".join(f"<fp:GoodsInfo><fp:Item>{refs(('GoodsInfo', str(i)))}</fp:Item></fp:GoodsInfo>"
                    for i in range(len(items)))
    tag = (f'<?xml version="1.0" encoding="UTF-8"?><fp:eInvoice xmlns:fp="{FP_NS}" xmlns:ofd="{OFD_NS}">'
           f"{singles}{''.join(parts)}<fp:GoodsInfos>{goods}</fp:GoodsInfos></fp:eInvoice>")
    return tag, content


def ofd(f: dict[str, Any], *, attach_xml: bool, custom_data: bool = True, items: tuple[str, ...] = ITEMS) -> bytes:
    """An OFD invoice package: page text, custom tags (with the item names), optionally CustomDatas and
    the original XML."""
    tag, content = _custom_tag_and_page(f, items)
    datas = ""
    if custom_data:
        pairs = [("发票号码", f["invoice_number"]), ("开票日期", f["issue_date"]),
                 ("合计金额", f["amount"]), ("合计税额", f["tax"])]
        if f.get("invoice_code"):
            pairs.insert(0, ("发票代码", f["invoice_code"]))
        entries = "".join(f'<ofd:CustomData Name="{n}">{v}</ofd:CustomData>' for n, v in pairs)
        datas = f"<ofd:CustomDatas>{entries}</ofd:CustomDatas>"
    ofd_xml = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" DocType="OFD" Version="1.0">'
               f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>2195d5df959c419cb575dab5eeabb065</ofd:DocID>"
               f"<ofd:CreationDate>{f['issue_date']}</ofd:CreationDate>{datas}</ofd:DocInfo>"
               f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
               f"<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>")
    attachments = "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attach_xml else ""
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}">'
                f"<ofd:CommonData><ofd:MaxUnitID>100</ofd:MaxUnitID><ofd:PageArea>"
                f"<ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea>"
                f"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
                f'<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
                f"{attachments}<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>")
    custom_tags = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags xmlns:ofd="{OFD_NS}">'
                   f'<ofd:CustomTag TypeID="invoice" NameSpace="{FP_NS}"><ofd:FileLoc>CustomTag.xml</ofd:FileLoc>'
                   f"</ofd:CustomTag></ofd:CustomTags>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", document)
        zf.writestr("Doc_0/PublicRes.xml", f'<ofd:Res xmlns:ofd="{OFD_NS}" BaseLoc="Res"/>')
        zf.writestr("Doc_0/Pages/Page_0/Content.xml", content)
        zf.writestr("Doc_0/Tags/CustomTags.xml", custom_tags)
        zf.writestr("Doc_0/Tags/CustomTag.xml", tag)
        zf.writestr("Doc_0/Signs/Signatures.xml", f'<ofd:Signatures xmlns:ofd="{OFD_NS}"/>')
        if attach_xml:
            zf.writestr("Doc_0/Attachs/Attachments.xml",
                        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments xmlns:ofd="{OFD_NS}">'
                        f'<ofd:Attachment ID="101" Name="original_invoice" Format="xml" Visible="false">'
                        f"<ofd:FileLoc>original_invoice.xml</ofd:FileLoc></ofd:Attachment></ofd:Attachments>")
            zf.writestr("Doc_0/Attachs/original_invoice.xml", digital_xml(f, items))
    return buf.getvalue()
