from __future__ import annotations

from pydantic import BaseModel, Field


class TypeMember(BaseModel):
    name: str = Field(examples=["amount"])
    type: str = Field(examples=["uint256"])


class Eip712DomainOut(BaseModel):
    name: str = Field(examples=["ClearingHouse"])
    version: str = Field(examples=["1"])
    chainId: int = Field(examples=[31337])  # EIP-712 names the members
    verifyingContract: str = Field(examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"])


class Eip712Out(BaseModel):
    """EIP-712 typed data without the message: add ``message`` (an obligation) and sign it with any wallet."""

    types: dict[str, list[TypeMember]]
    primaryType: str = Field(examples=["Obligation"])
    domain: Eip712DomainOut
